from bbtok.cli.run import main

raise SystemExit(main())
