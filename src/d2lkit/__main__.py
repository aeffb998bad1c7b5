from d2lkit.cli import main

raise SystemExit(main())
