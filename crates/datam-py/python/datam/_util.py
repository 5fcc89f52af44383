def collect(diagnostics, found):
    if diagnostics is not None:
        diagnostics.extend(found)
