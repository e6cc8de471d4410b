"""The results browser: what emnist-bench wrote, drawn; nothing is trained here.

    streamlit run app.py
    EMNIST_BENCH_RESULTS=/path/to/results streamlit run app.py

This file only wires the pages into Streamlit's navigation: one module per page under
benchmark/app/ (summary, runs, ablations, curves, misclassified, confusion, tuning, backends),
and benchmark/app/shared.py for what several of them use (the cached readers, the run picker,
the "Show pilot runs" switch in the sidebar). Each page has its own URL: / for the Summary
(also /summary), then /runs, /ablations, /curves, /misclassified, /confusion, /tuning and
/backends. The links of the one-page app, ?page=<title> (with ?run=<run-id> and the other
parameters kept), still open their page.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from benchmark import readers, results
from benchmark.app import (
    ablations,
    backends,
    confusion,
    curves,
    misclassified,
    runs,
    shared,
    summary,
    tuning,
)

# The sidebar's pages in order, by title: each is served at /<title in lower case>, the first at
# the root URL too; the title is also what an old ?page= link names.
PAGES = {"Summary": summary, "Runs": runs, "Ablations": ablations, "Curves": curves,
         "Misclassified": misclassified, "Confusion": confusion, "Tuning": tuning,
         "Backends": backends}


def follow_old_link(pages: dict[str, st.Page]) -> None:
    """Open the page an old link names (?page=Confusion&run=<run-id>, made when the pages were a
    radio button in one script) with the link's other parameters; a name of no page is dropped."""
    old = st.query_params.get("page")
    if old is None:
        return
    target = {title.lower(): page for title, page in pages.items()}.get(old.lower())
    if target is None:
        del st.query_params["page"]
        return
    st.switch_page(target, query_params={key: st.query_params.get_all(key)
                                         for key in st.query_params if key != "page"})


def main() -> None:
    st.set_page_config(page_title="emnist-bench results", layout="wide")
    root = results.default_root()
    catalog = shared.load_catalog(str(root.resolve()), readers.stamp(root))
    pages: dict[str, st.Page] = {}  # the Summary links into the others
    for title, module in PAGES.items():
        shown = partial(module.page, catalog, pages) if module is summary else partial(
            module.page, catalog)
        pages[title] = st.Page(shown, title=title, url_path=title.lower())
    page = st.navigation(list(pages.values()))
    # Before an old link switches pages, and kept for the session, so that the switch holds
    # across pages.
    st.sidebar.toggle("Show pilot runs", key=shared.PILOTS, help=shared.PILOTS_HELP,
                      persist_state="session")
    follow_old_link(pages)
    main = int((catalog.runs["role"] == "main").sum()) if not catalog.runs.empty else 0
    st.sidebar.caption(f"Results folder: `{root}`  \n{len(catalog.runs)} run(s), {main} of "
                       f"them main; {len(catalog.searches)} search(es), "
                       f"{len(catalog.ablations)} ablation(s)")
    if catalog.problems:
        st.sidebar.warning(f"{len(catalog.problems)} folder(s) could not be read: see Runs.")
    if catalog.empty:
        st.header(page.title)
        shared.no_results(root, catalog)
        shared.show_problems(catalog)
        return
    page.run()


if __name__ == "__main__":  # `streamlit run app.py` (and AppTest) run this file as __main__
    main()
