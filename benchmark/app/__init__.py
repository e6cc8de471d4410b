"""The results browser's pages (app.py wires them into `st.navigation`): one module per page,
each with a `page(catalog)` that draws it, and shared.py for what several pages use."""
