#!/usr/bin/env python3
"""Builds the JSON POST bodies for hoi-ccb: make_bodies.py OUT_DIR. __MEMBER_ID__ is replaced by bench/gql_post.lua."""
import json, pathlib, sys
here = pathlib.Path(__file__).parent
out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
variables = {
    "q1_tree_page": {},
    "q1b_tree_page_full": {},
    "q2_member_search": {"q": "ngu"},
    "q3_awards_by_year": {"year": 2023},   # our award history covers 2019-2024 (PostGraphile's data: 2015)
    "q4_member_by_id": {"id": "__MEMBER_ID__"},
    "q5_restricted_members": {},
    "q6_update_member": {"id": "__MEMBER_ID__"},
}
for name, v in variables.items():
    doc = "\n".join(l for l in (here / f"{name}.graphql").read_text().splitlines() if not l.lstrip().startswith("#"))
    (out / f"{name}.json").write_text(json.dumps({"query": doc, "variables": v}))
    print(out / f"{name}.json")
