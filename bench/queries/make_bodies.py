#!/usr/bin/env python3
"""Builds the JSON POST bodies of bench/run.sh for both servers, with variables on both sides.

usage: make_bodies.py OUT_DIR PROVINCE_ROW_ID YEAR
Writes OUT_DIR/ours/<shape>.json (our schema, global ids) and OUT_DIR/peer/<shape>.json (PostGraphile's
generated schema, row ids as BigInt strings). A member id variable is "__ID__": the load script (gql_post.lua)
and the checks replace it per request."""
import base64
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).parent


def gid(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).rstrip(b"=").decode()


def shapes(province: int, year: int):
    """shape -> (query file, our variables, the peer's variables)"""
    page = {"first": 20}
    return {
        "q1": ("q1_tree_page", {"provinceId": gid("Province", province), "bases": 20, "chapters": 100, "members": 10},
               {"provinceId": str(province), "bases": 20, "members": 10}),
        "q2": ("q2_search_count", {"q": "nguyen", **page}, {"q": "nguyen", **page}),
        "q2b": ("q2_search_page", {"q": "tran thi hoa", **page}, {"q": "tran thi hoa", **page}),
        "q2c": ("q2_search_page", {"q": "hoa", **page}, {"q": "hoa", **page}),
        "q2d": ("q2_search_count", {"q": "nguyen van an", **page}, {"q": "nguyen van an", **page}),
        "q3": ("q3_awards_by_year", {"year": year, "first": 50}, {"year": year, "first": 50}),
        "q4": ("q4_member_by_id", {"id": "__ID__"}, {"id": "__ID__"}),
        "q5": ("q5_base_members", {"first": 50}, {"first": 50}),
        "q6": ("q6_update_phone", {"id": "__ID__", "phone": "0900000000"}, {"id": "__ID__", "phone": "0900000000"}),
    }


def document(side: str, name: str) -> str:
    lines = (HERE / side / f"{name}.graphql").read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    province, year = int(sys.argv[2]), int(sys.argv[3])
    for side in ("ours", "peer"):
        (out / side).mkdir(parents=True, exist_ok=True)
    for shape, (name, ours, peer) in shapes(province, year).items():
        for side, variables in (("ours", ours), ("peer", peer)):
            body = {"query": document(side, name), "variables": variables}
            (out / side / f"{shape}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
