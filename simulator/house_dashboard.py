"""The demo's Q.rads dashboard: one view of rooms, one of the building.

Rooms: for each Q.rad, its thermostat, the day's temperature against its
target with the power, compute and money of the week, the air, the speaker and
the Wi-Fi. Building: what a manager of many Q.rads looks at first, as
templates that Home Assistant renders (one card, however many Q.rads): the
rooms that are cold or offline, then the totals of energy and money.
"""

from __future__ import annotations

from typing import Any

AIR = ("temperature", "humidity", "co2", "voc_index", "illuminance", "noise")
WIFI = ("wifi_access_point", "wifi_clients")
# A room this far below its target, while heating, is called cold.
COLD_BELOW_TARGET_K = 1.0


def _room_table() -> str:
    """The building's rooms, offline ones first, then cold ones, then the rest."""
    return """\
{%- set rooms = expand(integration_entities('qrad'))
   | selectattr('domain', 'eq', 'climate') | sort(attribute='name') | list -%}
{%- set ns = namespace(offline=[], cold=[], ok=[]) -%}
{%- for room in rooms -%}
{%- set now = room.attributes.current_temperature -%}
{%- set target = room.attributes.temperature -%}
{%- if room.state == 'unavailable' -%}
{%- set ns.offline = ns.offline + [room] -%}
{%- elif room.state != 'off' and now is number and target is number
     and now < target - COLD -%}
{%- set ns.cold = ns.cold + [room] -%}
{%- else -%}
{%- set ns.ok = ns.ok + [room] -%}
{%- endif -%}
{%- endfor -%}
**{{ ns.offline | count }}** offline, **{{ ns.cold | count }}** cold, \
**{{ ns.ok | count }}** as asked

| Room | Now | Target | |
|:--|--:|--:|:--|
{% for group, rows in [('**offline**', ns.offline), ('**cold**', ns.cold),
   ('ok', ns.ok)] -%}
{%- for room in rows -%}
{%- set now = room.attributes.current_temperature -%}
{%- set target = room.attributes.temperature -%}
| {{ area_name(room.entity_id) or room.name }} \
| {{ now if now is number else '-' }} °C \
| {{ target if target is number else '-' }} °C | {{ group }} |
{% endfor -%}
{%- endfor %}""".replace("COLD", str(COLD_BELOW_TARGET_K))


def _totals() -> str:
    """Energy, money and power of every Q.rad together, and the count of each."""
    return """\
{%- set qrad = expand(integration_entities('qrad')) -%}
{%- set rooms = qrad | selectattr('domain', 'eq', 'climate') | list -%}
{%- set energy = qrad | selectattr('attributes.device_class', 'defined')
   | selectattr('attributes.device_class', 'eq', 'energy') | list -%}
{%- set money = qrad | selectattr('attributes.device_class', 'defined')
   | selectattr('attributes.device_class', 'eq', 'monetary') | list -%}
{%- set power = qrad | selectattr('attributes.device_class', 'defined')
   | selectattr('attributes.device_class', 'eq', 'power')
   | selectattr('entity_id', 'search', '_power$') | list -%}
**{{ rooms | count }}** Q.rads

| | |
|:--|--:|
{%- macro total(entities) -%}
{{ entities | map(attribute='state') | map('float', 0) | sum }}
{%- endmacro %}
| Heating now | {{ total(power) | float | round(0) }} W |
| Energy | {{ total(energy) | float | round(1) }} kWh |
| Reimbursed | {{ total(money) | float | round(2) }} EUR |
"""


def _room(name: str, keys: dict[str, str]) -> dict[str, Any]:
    """One Q.rad's room, top to bottom."""
    cards: list[dict[str, Any]] = []
    if "thermostat" in keys:
        cards.append({"type": "thermostat", "entity": keys["thermostat"]})
        cards.append(
            {
                "type": "history-graph",
                "title": "Today: temperature and target",
                "hours_to_show": 24,
                "entities": [keys["thermostat"]],
            }
        )
    week = [keys[key] for key in ("power", "compute_throughput") if key in keys]
    if week:
        cards.append(
            {
                "type": "history-graph",
                "title": "Power and compute",
                "hours_to_show": 24,
                "entities": week,
            }
        )
    meters = [keys[key] for key in ("energy", "reimbursed") if key in keys]
    if meters:
        cards.append(
            {
                "type": "statistics-graph",
                "title": "The week: energy and money",
                "entities": meters,
                "days_to_show": 7,
                "period": "day",
                "chart_type": "bar",
                "stat_types": ["change"],
            }
        )
    if "temperature" in keys:
        cards.append(
            {
                "type": "statistics-graph",
                "title": "The week: room temperature",
                "entities": [keys["temperature"]],
                "days_to_show": 7,
                "period": "hour",
                "chart_type": "line",
                "stat_types": ["mean", "min", "max"],
            }
        )
    air = [keys[key] for key in AIR if key in keys]
    if air:
        cards.append({"type": "glance", "title": "Air", "entities": air, "columns": 3})
    if "speaker" in keys:
        cards.append({"type": "media-control", "entity": keys["speaker"]})
    wifi = [keys[key] for key in WIFI if key in keys]
    wifi += sorted(
        entity_id
        for entity_id in keys.values()
        if entity_id.startswith("device_tracker.")
    )
    if wifi:
        cards.append({"type": "entities", "title": "Wi-Fi", "entities": wifi})
    return {"type": "vertical-stack", "title": name, "cards": cards}


def dashboard(
    by_device: dict[str, dict[str, str]], names: dict[str, str]
) -> dict[str, Any]:
    """The rooms view (a column per Q.rad) and the building view.

    `by_device` holds each device's entity ids by key, `names` the devices' names.
    """
    named = [
        (names[device_id], keys)
        for device_id, keys in by_device.items()
        if device_id in names
    ]
    rooms = [
        _room(name, keys) for name, keys in sorted(named, key=lambda item: item[0])
    ]
    building = [
        {"type": "markdown", "title": "Rooms", "content": _room_table()},
        {"type": "markdown", "title": "All Q.rads", "content": _totals()},
    ]
    return {
        "title": "Q.rads",
        "views": [
            {"title": "Rooms", "path": "rooms", "icon": "mdi:radiator", "cards": rooms},
            {
                "title": "Building",
                "path": "building",
                "icon": "mdi:office-building",
                "cards": building,
            },
        ],
    }
