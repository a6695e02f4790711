"""Files shipped inside the package: the documented default ``methodology.yml`` (what
``kamlib.methodology.load_methodology()`` reads) and the nbconvert template of the HTML reports.
No code lives here."""
