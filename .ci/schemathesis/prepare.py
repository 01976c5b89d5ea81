"""For .ci/schemathesis.sh: log in to the throw-away server as the demo admin, collect real ids of every kind,
and write a schemathesis config whose dictionaries put those ids (and small versions) into id arguments, so
the fuzzer reaches resolvers past "not found". Prints the access token on stdout.

Usage: prepare.py API_URL CONFIG_PATH
"""

import json
import sys
import urllib.request


def post(url, query, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps({"query": query}).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    if body.get("errors"):
        raise SystemExit(f"prepare.py: {query[:60]!r} answered {body['errors']}")
    return body["data"]


def main():
    url, config_path = sys.argv[1], sys.argv[2]
    token = post(url, 'mutation { login(username: "admin", password: "admin-demo-2024") { token } }')["login"]["token"]
    data = post(
        url,
        """{
          provinces(first: 3) { nodes { id } }
          bases(first: 6) { nodes { id } }
          chapters(first: 6) { nodes { id } }
          members(first: 10) { nodes { id } }
          awards(first: 4) { nodes { id } }
          proposals(first: 4) { nodes { id } }
          transfers(first: 4) { nodes { id } }
          yearlyRatings(first: 4) { nodes { id } }
        }""",
        token,
    )
    # Account ids are left out on purpose: `setAccountDisabled` on the admin's own account would turn every
    # later request into UNAUTHENTICATED and hide the rest of the API from the fuzzer.
    ids = [node["id"] for connection in data.values() for node in connection["nodes"]]
    if len(ids) < 20:
        raise SystemExit(f"prepare.py: the demo data gave only {len(ids)} ids")
    id_arguments = [
        "*.*.id",
        "*.*.ids[*]",
        "*.*.provinceId",
        "*.*.baseId",
        "*.*.unitId",
        "*.*.input.id",
        "*.*.input.provinceId",
        "*.*.input.baseId",
        "*.*.input.chapterId",
        "*.*.input.toBaseId",
        "*.*.input.toChapterId",
        "*.*.input.recipientId",
        "*.*.input.subjectId",
        "*.*.filter.provinceId",
        "*.*.filter.baseId",
        "*.*.filter.chapterId",
        "*.*.filter.unitId",
    ]
    lines = [
        "[dictionaries.ids]",
        f"values = {json.dumps(ids)}",
        "",
        "[dictionaries.versions]",
        "values = [1, 2, 3]",
        "",
        "[parameters]",
    ]
    lines += [f'"{key}" = {{ dictionary = "ids", probability = 0.7 }}' for key in id_arguments]
    lines.append('"*.*.input.expectedVersion" = { dictionary = "versions", probability = 0.7 }')
    with open(config_path, "w", encoding="utf-8") as config:
        config.write("\n".join(lines) + "\n")
    print(token)


if __name__ == "__main__":
    main()
