"""Report engine: parameterised notebooks → self-contained offline HTML reports."""
