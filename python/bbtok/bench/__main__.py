from bbtok.bench.tokenizer_speed import main

main()
