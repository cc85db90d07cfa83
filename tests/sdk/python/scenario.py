"""Drives a running Cardfile over TLS with the official Python SDK, b24pysdk, unmodified.

Environment: CARDFILE_DOMAIN (host:port), CARDFILE_WEBHOOK (user_id/token of an administrator's
webhook with every scope), REQUESTS_CA_BUNDLE (the server's self-signed certificate).
Prints each scenario it passed; any failure raises and exits non-zero.
"""

import os
import ssl
import sys
import urllib.request

from b24pysdk import BitrixWebhook, Client

USERS = 120

# A 1 x 1 PNG, as a client would send a file: [name, base64].
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def passed(name):
    print(f"b24pysdk: passed: {name}", flush=True)


def main():
    token = BitrixWebhook(domain=os.environ["CARDFILE_DOMAIN"], webhook_token=os.environ["CARDFILE_WEBHOOK"])
    client = Client(token)

    # Base methods.
    t = client.server.time().result
    check(isinstance(t, str) and t.endswith("+00:00"), f"server.time: {t!r}")
    me = client.user.current().result
    check(me["ID"] == "1" and me["ACTIVE"] is True, f"user.current: {me}")
    profile = client.profile().result if callable(getattr(client, "profile", None)) else None
    passed("server.time, user.current")

    # A department.
    dept_id = client.department.add(name="Python Team", parent=1, sort=300).result
    check(isinstance(dept_id, int) and dept_id > 1, f"department.add: {dept_id!r}")
    rows = client.department.get(bitrix_id=dept_id).result
    check(rows == [{"ID": str(dept_id), "NAME": "Python Team", "SORT": 300, "PARENT": "1"}], f"department.get: {rows}")
    passed("department.add, department.get")

    # 120 users through batch.
    requests = [
        client.user.add(
            fields={
                "EMAIL": f"py{i:03}@example.com",
                "NAME": f"Pat{i:03}",
                "LAST_NAME": "Python",
                "WORK_POSITION": "Tester",
                "UF_DEPARTMENT": [dept_id],
            }
        )
        for i in range(USERS)
    ]
    batches = client.call_batches(requests, halt=True).result
    check(not batches.result_error, f"batch errors: {batches.result_error}")
    added = list(batches.result.values()) if isinstance(batches.result, dict) else list(batches.result)
    check(len(added) == USERS and all(isinstance(i, int) for i in added), f"batch user.add ids: {added[:5]}...")
    passed(f"{USERS} users through batch")

    # Offset paging with the SDK's own pager.
    listed = client.user.get(filter={"UF_DEPARTMENT": dept_id}, sort="ID", order="ASC").as_list().result
    ids = [int(u["ID"]) for u in listed]
    check(ids == sorted(added), f"as_list: {len(ids)} users")
    passed("offset paging (as_list)")

    # The start=-1 + >ID cursor with $result chaining (as_list_fast).
    fast = client.user.get(filter={"UF_DEPARTMENT": dept_id}).as_list_fast().result
    fast_ids = sorted(int(u["ID"]) for u in fast)
    check(fast_ids == sorted(added), f"as_list_fast: {len(fast_ids)} users")
    passed("cursor paging with $result chaining (as_list_fast)")

    # Every value of one user.
    u = client.user.get(filter={"ID": added[7]}).result[0]
    check(u["ID"] == str(added[7]), f"ID is a string: {u['ID']!r}")
    check(u["ACTIVE"] is True, f"ACTIVE: {u['ACTIVE']!r}")
    check(u["EMAIL"] == "py007@example.com", f"EMAIL: {u['EMAIL']!r}")
    check(u["NAME"] == "Pat007" and u["LAST_NAME"] == "Python", f"names: {u}")
    check(u["WORK_POSITION"] == "Tester", f"WORK_POSITION: {u['WORK_POSITION']!r}")
    check(u["UF_DEPARTMENT"] == [dept_id], f"UF_DEPARTMENT: {u['UF_DEPARTMENT']!r}")
    check(u["IS_ONLINE"] == "N", f"IS_ONLINE: {u['IS_ONLINE']!r}")
    check(u["USER_TYPE"] == "employee", f"USER_TYPE: {u['USER_TYPE']!r}")
    check(u["DATE_REGISTER"].endswith("+00:00"), f"DATE_REGISTER: {u['DATE_REGISTER']!r}")
    check(u["LAST_LOGIN"] == "", f"LAST_LOGIN: {u['LAST_LOGIN']!r}")
    passed("user values")

    # Search.
    found = client.user.search(filter={"FIND": "pat00"}).result
    check(sorted(int(x["ID"]) for x in found) == sorted(added[:10]), f"search pat00: {[x['ID'] for x in found]}")
    resp = client.user.search(filter={"FIND": "pat"}).response
    check(resp.total == USERS, f"search total: {resp.total}")
    passed("search (FIND) with total")

    # Presence and the structure as the messenger shows them (scope im).
    check(client.im.user.status.set(status="away").result is True, "im.user.status.set")
    status = client.im.user.status.get().result
    check(status == "away", f"im.user.status.get: {status!r}")
    card = client.im.user.get(bitrix_id=added[7]).result
    check(card["id"] == added[7] and card["name"] == "Pat007 Python", f"im.user.get: {card}")
    check(card["departments"] == [dept_id] and card["type"] == "user", f"im.user.get: {card}")
    deps = client.im.department.get(bitrix_id=[dept_id]).result
    check([d["name"] for d in deps] == ["Python Team"], f"im.department.get: {deps}")
    members = client.im.department.employees.get(bitrix_id=[dept_id]).result
    check(sorted(members[str(dept_id)]) == sorted(added), f"im.department.employees.get: {len(members)}")
    passed("im.user.status, im.user.get, im.department.get and employees.get")

    # A photo uploaded through user.update, served at the URL user.get hands out.
    photo = {"ID": added[2], "PERSONAL_PHOTO": ["pat.png", PNG]}
    check(client.user.update(fields=photo).result is True, "user.update with PERSONAL_PHOTO")
    url = client.user.get(filter={"ID": added[2]}).result[0]["PERSONAL_PHOTO"]
    check(url.startswith(f"https://{os.environ['CARDFILE_DOMAIN']}/photo/"), f"PERSONAL_PHOTO: {url!r}")
    tls = ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])
    with urllib.request.urlopen(url, context=tls, timeout=10) as served:
        body = served.read()
        check(served.status == 200 and body[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0"), f"photo: {body[:8]!r}")
    card = client.im.user.get(bitrix_id=added[2]).result
    check(card["avatar"].endswith("/small.png") and card["avatar_hr"] == url, f"im.user.get avatar: {card}")
    passed("photo upload through user.update, served at its URL")

    # Custom fields: all four methods, and values through user.update.
    field_id = client.user.userfield.add(
        fields={"FIELD_NAME": "py_level", "USER_TYPE_ID": "integer", "EDIT_FORM_LABEL": "Level"}
    ).response.result
    check(isinstance(field_id, int), f"user.userfield.add: {field_id!r}")
    fields = client.user.userfield.list(filter={"FIELD_NAME": "UF_USR_PY_LEVEL"}).response.result
    check(len(fields) == 1 and fields[0]["ID"] == str(field_id), f"user.userfield.list: {fields}")
    check(client.user.userfield.update(bitrix_id=field_id, fields={"SORT": 300}).result is True, "user.userfield.update")
    check(client.user.update(fields={"ID": added[3], "UF_USR_PY_LEVEL": 7}).result is True, "user.update UF_USR_")
    level = client.user.get(filter={"ID": added[3]}, select=["ID", "UF_*"]).result[0]
    check(level["UF_USR_PY_LEVEL"] == 7, f"UF_USR_PY_LEVEL: {level}")
    check(client.user.userfield.delete(bitrix_id=field_id).result is True, "user.userfield.delete")
    passed("user.userfield.add, list, update, delete and a value through user.update")

    # The card's content, through the SDK's generic call (the vendor methods have no wrapper).
    def call(method, params):
        reply = token.call_method(method, params=params)
        check("result" in reply, f"{method}: {reply}")
        return reply["result"]

    absence = call(
        "cardfile.absence.add",
        {"USER_ID": added[3], "KIND": "vacation", "DATE_FROM": "2030-07-01", "DATE_TO": "2030-07-14", "NOTE": "Sea"},
    )
    check(isinstance(absence, int), f"cardfile.absence.add: {absence!r}")
    chart = call("cardfile.absence.list", {"FILTER": {"UF_DEPARTMENT": dept_id, "DATE_FROM": "2030-07-01", "DATE_TO": "2030-07-31"}})
    check([a["ID"] for a in chart] == [absence] and chart[0]["KIND"] == "vacation", f"cardfile.absence.list: {chart}")
    check(call("cardfile.absence.update", {"ID": absence, "NOTE": "Lake"}) is True, "cardfile.absence.update")
    check(call("cardfile.absence.delete", {"ID": absence}) is True, "cardfile.absence.delete")
    about = call("cardfile.profile.set", {"ID": added[3], "ABOUT": "[b]Python[/b]"})
    check(about["ABOUT_HTML"] == "<b>Python</b>", f"cardfile.profile.set: {about}")
    check(call("cardfile.profile.get", {"ID": added[3]})["ABOUT"] == "[b]Python[/b]", "cardfile.profile.get")
    check(client.user.update(fields={"ID": added[3], "UF_INTERESTS": "#Snakes #rust"}).result is True, "UF_INTERESTS")
    holders = client.user.get(filter={"UF_INTERESTS": "#snakes"}).result
    check([u["ID"] for u in holders] == [str(added[3])], f"UF_INTERESTS=#snakes: {holders}")
    check(call("cardfile.interest.list", {"PREFIX": "#sn"}) == [{"TAG": "#snakes", "COUNT": 1}], "cardfile.interest.list")
    badges = call("cardfile.appreciation.badges", {})
    check(any(b["CODE"] == "star" for b in badges), f"cardfile.appreciation.badges: {badges}")
    given = call("cardfile.appreciation.give", {"USER_ID": added[3], "BADGE": "star", "MESSAGE": "Thanks"})
    check(isinstance(given, int), f"cardfile.appreciation.give: {given!r}")
    check(call("cardfile.appreciation.counts", {"USER_ID": added[3]}) == {"star": 1}, "cardfile.appreciation.counts")
    mine = call("cardfile.appreciation.list", {"USER_ID": added[3]})
    check([a["MESSAGE"] for a in mine] == ["Thanks"], f"cardfile.appreciation.list: {mine}")
    layout = call("cardfile.layout.set", {"FIELDS": ["EMAIL", "ABOUT"]})
    check(layout == {"FIELDS": ["EMAIL", "ABOUT"], "OWN": True}, f"cardfile.layout.set: {layout}")
    check(call("cardfile.layout.get", {})["OWN"] is True, "cardfile.layout.get")
    check(call("cardfile.layout.reset", {})["OWN"] is False, "cardfile.layout.reset")
    passed("cardfile.absence.*, cardfile.profile.*, interests, cardfile.appreciation.*, cardfile.layout.*")

    # Update and terminate.
    check(client.user.update(fields={"ID": added[0], "NAME": "Patricia"}).result is True, "user.update")
    check(client.user.get(filter={"ID": added[0]}).result[0]["NAME"] == "Patricia", "renamed")
    check(client.user.update(fields={"ID": added[1], "ACTIVE": "N"}).result is True, "terminate")
    gone = client.user.get(filter={"ID": added[1]}).result[0]
    check(gone["ACTIVE"] is False, f"terminated: {gone['ACTIVE']!r}")
    active = client.user.get(filter={"UF_DEPARTMENT": dept_id, "ACTIVE": True}).as_list().result
    check(len(active) == USERS - 1, f"active after termination: {len(active)}")
    passed("update and terminate")

    # Department update and delete refusal.
    check(client.department.update(bitrix_id=dept_id, name="Python Guild").result is True, "department.update")
    check(client.department.get(bitrix_id=dept_id).result[0]["NAME"] == "Python Guild", "renamed department")
    try:
        client.department.delete(bitrix_id=dept_id).result
        raise AssertionError("deleting a department with members must fail")
    except AssertionError:
        raise
    except Exception as e:  # the SDK raises its own error type for ERROR_CORE
        check("ERROR_CORE" in repr(e) or "members" in str(e), f"department.delete error: {e!r}")
    passed("department update, delete refused while it has members")
    _ = profile
    return 0


if __name__ == "__main__":
    sys.exit(main())
