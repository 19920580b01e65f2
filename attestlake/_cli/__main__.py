from attestlake._cli import main

main()
