from bbtok.cli.commands import main

raise SystemExit(main())
