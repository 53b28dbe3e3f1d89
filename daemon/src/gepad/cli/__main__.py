"""`python -m gepad.cli`: the same as the `gepad` console script."""

from gepad.cli._main import main

raise SystemExit(main())
