"""`python -m gepad_lsp`: the language server on stdio."""

import sys

from gepad_lsp import main

sys.exit(main())
