"""Which dialplan objects exist, and where each one is used.

One home for both questions, so that saving a reference to a missing
object and deleting an object still in use are refused the same way
everywhere: `exists(kind, name)` and `where_used(kind, name)`.
Kinds: procedure, sound, moh_class, call_group, ivr, switch, time_range, extension,
trunk, trunk_group, price_list.
"""

from __future__ import annotations

from appliance.errors import Conflict


def exists(kind: str, name: str) -> bool:
    from appliance.dialplan.models import CallGroup, Ivr, Procedure, Switch, TimeRange
    from appliance.prices.models import PriceList
    from appliance.sounds.models import MohClass, Sound
    from appliance.trunks.models import Trunk, TrunkGroup
    from appliance.users.models import User

    model, column = {
        "trunk": (Trunk, Trunk.name), "trunk_group": (TrunkGroup, TrunkGroup.name),
        "price_list": (PriceList, PriceList.name),
        "procedure": (Procedure, Procedure.name), "sound": (Sound, Sound.name),
        "moh_class": (MohClass, MohClass.name), "call_group": (CallGroup, CallGroup.name),
        "ivr": (Ivr, Ivr.name), "switch": (Switch, Switch.name), "time_range": (TimeRange, TimeRange.name),
        "extension": (User, User.extension),
    }[kind]
    return model.select(model.id).where(column == name).exists()


def where_used(kind: str, name: str) -> list[str]:
    """Human-readable places naming the object, e.g. "procedure main, number 100, application 2"."""
    from appliance.dialplan import apps
    from appliance.dialplan.models import CallGroup, Ivr, Procedure
    from appliance.users.models import User

    places: list[str] = []
    for proc in Procedure.select():
        if kind == "procedure" and name in proc.includes:
            places.append(f"procedure {proc.name} (included)")
        for entry in proc.numbers:
            for position, app in enumerate(entry.get("apps", []), start=1):
                if (kind, name) in apps.references(app):
                    places.append(f"procedure {proc.name}, number {entry['number']}, application {position}")
    if kind == "procedure":
        places += [f"user {u.extension or u.login} (dialplan)" for u in User.select().where(User.dialplan == name)]
    if kind in ("procedure", "extension", "moh_class"):
        for group in CallGroup.select():
            if kind == "procedure" and group.no_answer_procedure == name:
                places.append(f"call group {group.name} (no answer)")
            if kind == "extension" and any(m.get("extension") == name for m in group.members):
                places.append(f"call group {group.name} (member)")
    if kind in ("procedure", "trunk", "price_list", "extension", "call_group", "ivr", "time_range"):
        from appliance.trunks.models import Did, Trunk, TrunkGroup

        for trunk in Trunk.select():
            if (kind == "procedure" and trunk.inbound_procedure == name) or (
                    kind == "price_list" and trunk.price_list == name):
                places.append(f"trunk {trunk.name}")
        for group in TrunkGroup.select():
            if kind == "trunk" and any(m.get("trunk") == name for m in group.members):
                places.append(f"trunk group {group.name}")
        for did in Did.select():
            if (kind == "trunk" and did.trunk == name) or (kind == "procedure" and did.procedure == name) or (
                    did.destination_kind in {"extension": ("user", "voicemail")}.get(kind, (kind,))
                    and did.destination == name):
                places.append(f"inbound number {did.number}")
    if kind in ("procedure", "sound", "ivr"):
        from appliance.dialplan import ivr

        for tree in Ivr.select():
            for where in ivr.references(tree.tree, kind, name):
                places.append(f"IVR {tree.name}, {where}")
    return places


def refuse_if_used(kind: str, name: str) -> None:
    """Conflict naming every place that still uses the object (deleting it would break calls)."""
    places = where_used(kind, name)
    if places:
        shown = "; ".join(places[:10]) + (f" and {len(places) - 10} more" if len(places) > 10 else "")
        raise Conflict("name", f"{kind.replace('_', ' ')} {name} is still used by: {shown}")
