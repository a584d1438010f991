from cbp.cli import main

raise SystemExit(main())
