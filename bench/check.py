#!/usr/bin/env python3
"""Sends every body of bench/run.sh to our server (and to the PostGraphile peer when --peer is given) and checks
the answers: no `errors` on either side, matches for every search, and the same rows on both sides (counts, and
the ids of each page). Exits 1 on an error or an empty search; a difference between the sides is printed as
`DIFFERS` (run.sh records it with the results) and makes the exit status 2 under --strict.

usage: check.py --bodies DIR --ours URL --token JWT --base-token JWT --max-id N
                [--peer URL --base-row-id N] [--repeat N] [--q6-first-id N] [--strict]"""
import argparse
import base64
import json
import random
import sys
import urllib.error
import urllib.request


def post(url, body, headers):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as e:
        return e.code, {"errors": [{"message": e.read().decode(errors="replace")[:300]}]}


def row_id(global_or_row_id):
    """Our global ids are base64url("Member:123"); the peer's rowId is the row id itself."""
    s = str(global_or_row_id)
    if s.isdigit():
        return int(s)
    return int(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode().split(":", 1)[1])


def summary(shape, data):
    """The facts of an answer that both servers must agree on, in the same form for each."""
    d = data["data"]
    if shape == "q1":
        bases = d.get("bases") or d.get("allBases")
        out = {"bases_total": bases["totalCount"], "bases": [row_id(b.get("id") or b.get("rowId")) for b in bases["nodes"]]}
        chapters = [c for b in bases["nodes"] for c in (b.get("chapters") or b.get("chaptersByBaseId"))["nodes"]]
        out["chapters_total"] = sum((b.get("chapters") or b.get("chaptersByBaseId"))["totalCount"] for b in bases["nodes"])
        out["chapters"] = len(chapters)
        mem = [(c.get("members") or c.get("membersByChapterId")) for c in chapters]
        out["members_total"] = sum(m["totalCount"] for m in mem)
        out["members"] = [row_id(n.get("id") or n.get("rowId")) for m in mem for n in m["nodes"]]
        return out
    if shape == "q4":
        m = d.get("node", False)
        if m is False:
            m = d.get("memberByRowId")
        if not m:
            return {"member": None}
        awards = (m.get("awards") or m.get("awardsByMemberId"))["nodes"]
        return {"member": row_id(m.get("id") or m.get("rowId")), "phone": m.get("phone"),
                "awards": [(a["kind"], a["year"], a["grantingLevel"]) for a in awards]}
    if shape == "q6":
        payload = d.get("updateMember") or d.get("updateMemberByRowId")
        return {"member": row_id(payload["member"].get("id") or payload["member"].get("rowId")),
                "phone": payload["member"]["phone"]}
    conn = next(iter(d.values()))  # q2*, q3, q5: one connection
    out = {"ids": [row_id(n.get("id") or n.get("rowId")) for n in conn["nodes"]]}
    if "totalCount" in conn:
        out["totalCount"] = conn["totalCount"]
    if shape == "q3":
        out["member_recipients"] = sum(1 for n in conn["nodes"] if n.get("recipient") or n.get("memberByMemberId"))
    return out


def short(s):
    text = json.dumps(s)
    if len(text) <= 160:
        return text
    return text[:157] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bodies", required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--base-token", required=True)
    ap.add_argument("--peer")
    ap.add_argument("--base-row-id", default="17")
    ap.add_argument("--max-id", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--q6-first-id", type=int, default=1)
    ap.add_argument("--strict", action="store_true")
    a = ap.parse_args()

    sides = [("ours", a.ours + "/graphql")] + ([("peer", a.peer + "/graphql")] if a.peer else [])
    failed, differs = 0, 0
    rng = random.Random(7)
    q6_id = a.q6_first_id
    for shape in ["q1", "q2", "q2b", "q2c", "q2d", "q3", "q4", "q5", "q6"]:
        for i in range(a.repeat):
            member = rng.randint(1, a.max_id)
            if shape == "q6":
                member, q6_id = q6_id, q6_id + 1
            seen = {}
            for side, url in sides:
                body = json.load(open(f"{a.bodies}/{side}/{shape}.json", encoding="utf-8"))
                vars_ = body["variables"]
                if vars_.get("id") == "__ID__":
                    vars_["id"] = (base64.urlsafe_b64encode(f"Member:{member}".encode()).rstrip(b"=").decode()
                                   if side == "ours" else str(member))
                headers = {}
                if side == "ours":
                    headers["authorization"] = "Bearer " + (a.base_token if shape == "q5" else a.token)
                elif shape == "q5":
                    headers["x-base-id"] = a.base_row_id
                status, data = post(url, body, headers)
                if status != 200 or "errors" in data or not data.get("data"):
                    print(f"check {shape} {side}: FAILED (HTTP {status}): {short(data)}")
                    failed += 1
                    continue
                s = summary(shape, data)
                seen[side] = s
                if shape.startswith("q2") and not s["ids"]:
                    print(f"check {shape} {side}: FAILED: the search found nothing")
                    failed += 1
                if i == 0:
                    print(f"check {shape} {side} ok: {short(s)}")
            if len(seen) == 2 and shape != "q6" and seen["ours"] != seen["peer"]:
                diff = {k: (seen["ours"].get(k), seen["peer"].get(k))
                        for k in seen["ours"].keys() | seen["peer"].keys() if seen["ours"].get(k) != seen["peer"].get(k)}
                print(f"check {shape} DIFFERS between ours and the peer in {', '.join(sorted(diff))} "
                      f"(ours, peer): {short(diff)}")
                differs += 1
            elif len(seen) == 2 and i == 0:
                print(f"check {shape}: the same rows on both sides")
    print(f"check: {failed} failed, {differs} differing")
    if failed:
        sys.exit(1)
    if differs and a.strict:
        sys.exit(2)


if __name__ == "__main__":
    main()
