# ruff: noqa: E501  (a table of exact problem lines reads best unwrapped)
"""Every schema and cross-reference rule: a broken centre and the exact problem line(s).

Each case edits a copy of `fixtures/minimal` and lists the problems `hotline check`
must print: `file:line:column field.path: message`. Cases checked by the IVR part's
flow validator match on location and the start of the message only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from config.editing import CentreCopy

C = "centre.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    edits: list[tuple[str, str | None, str]]  # (file, old text or None to append, new text)
    expected: list[str]
    exact: bool = True  # the whole line (True) or its start (False); and the count


CASES = [
    Case(
        "line_flow_unknown",
        [(C, "flow: main", "flow: mian")],
        ["c/centre.yaml:9:11 lines.\"12345\".flow: no flow named 'mian' (did you mean 'main'?)"],
    ),
    Case(
        "line_language_unknown",
        [(C, "name: 12345 hotline", "language: fr")],
        ["c/centre.yaml:10:15 lines.\"12345\".language: no language named 'fr' (known: en, zh)"],
    ),
    Case(
        "line_schedule_unknown",
        [(C, "name: 12345 hotline", "schedule: ofice")],
        [
            "c/centre.yaml:10:15 lines.\"12345\".schedule: no schedule named 'ofice' (did you mean 'office'?)"
        ],
    ),
    Case(
        "line_calendar_unknown",
        [(C, "name: 12345 hotline", "calendar: cn")],
        [
            "c/centre.yaml:10:15 lines.\"12345\".calendar: no holiday calendar named 'cn' (none is defined)"
        ],
    ),
    Case(
        "line_number_invalid",
        [(C, '"12345":', '"hot line":')],
        [
            "c/centre.yaml:8:3 lines.\"hot line\": 'hot line' is not a dialled number (digits, +, *, #, then letters/digits/-)"
        ],
    ),
    Case(
        "line_enabled_wrong_type",
        [(C, "name: 12345 hotline", "enabled: maybe")],
        ["c/centre.yaml:10:14 lines.\"12345\".enabled: expected true or false, got 'maybe'"],
    ),
    Case(
        "default_language_unknown",
        [(C, "default_language: zh", "default_language: fr")],
        ["c/centre.yaml:5:21 centre.default_language: no language named 'fr' (known: en, zh)"],
    ),
    Case(
        "language_code_invalid",
        [(C, "languages: [zh, en]", "languages: [zh, English]")],
        [
            "c/centre.yaml:6:17 languages[1]: 'English' is not a language code such as zh, en or zh-CN"
        ],
    ),
    Case(
        "timezone_unknown",
        [(C, "timezone: Asia/Shanghai", "timezone: Asia/Shangai")],
        [
            "c/centre.yaml:4:13 centre.timezone: unknown time zone 'Asia/Shangai' (use an IANA name such as Asia/Shanghai)"
        ],
    ),
    Case(
        "centre_name_missing",
        [(C, "  name: Test centre\n", "  description: no name\n")],
        ["c/centre.yaml:2:1 centre.name: missing required field 'name'"],
    ),
    Case(
        "section_unknown",
        [(C, "teams:", "teems:")],
        ["c/centre.yaml:14:1 teems: unknown field 'teems' (did you mean 'teams'?)"],
    ),
    Case(
        "queue_field_unknown",
        [(C, "min_level: 1", "min_levl: 1")],
        [
            "c/centre.yaml:23:5 queues.backup.min_levl: unknown field 'min_levl' (did you mean 'min_level'?)"
        ],
    ),
    Case(
        "queue_field_wrong_type",
        [(C, "min_level: 1", "min_level: high")],
        ["c/centre.yaml:23:16 queues.backup.min_level: expected a whole number, got 'high'"],
    ),
    Case(
        "queue_level_out_of_range",
        [(C, "min_level: 1", "min_level: 7")],
        ["c/centre.yaml:23:16 queues.backup.min_level: must be at most 5, got 7"],
    ),
    Case(
        "queue_skill_unknown",
        [(C, "skills: [general]\n    overflow", "skills: [generl]\n    overflow")],
        [
            "c/centre.yaml:19:14 queues.general.skills[0]: no skill named 'generl' (did you mean 'general'?)"
        ],
    ),
    Case(
        "queue_team_unknown",
        [(C, "min_level: 1", "teams: [night]")],
        ["c/centre.yaml:23:13 queues.backup.teams[0]: no team named 'night' (known: day)"],
    ),
    Case(
        "queue_strategy_unknown",
        [(C, "min_level: 1", "strategy: longest_idel")],
        [
            "c/centre.yaml:23:15 queues.backup.strategy: unknown value 'longest_idel' (did you mean 'longest_idle'?); expected one of: longest_idle, fewest_calls"
        ],
    ),
    Case(
        "queue_exit_unknown",
        [(C, "min_level: 1", "exit: voicemail")],
        [
            "c/centre.yaml:23:11 queues.backup.exit: unknown value 'voicemail'; expected one of: record, callback"
        ],
    ),
    Case(
        "queue_overflow_unknown",
        [(C, "to: backup}", "to: bakup}")],
        [
            "c/centre.yaml:20:34 queues.general.overflow.to: no queue named 'bakup' (did you mean 'backup'?)"
        ],
    ),
    Case(
        "queue_overflow_self",
        [(C, "to: backup}", "to: general}")],
        ["c/centre.yaml:20:34 queues.general.overflow.to: queue 'general' overflows to itself"],
    ),
    Case(
        "queue_overflow_loop",
        [(C, "min_level: 1", "overflow: {after_s: 60, to: general}")],
        [
            "c/centre.yaml:20:34 queues.general.overflow.to: overflow goes round in a circle in mode 'normal': general -> backup -> general"
        ],
    ),
    Case(
        "queue_overflow_no_trigger",
        [(C, "{after_s: 120, to: backup}", "{to: backup}")],
        [
            "c/centre.yaml:20:5 queues.general.overflow: overflow needs a trigger: `after_s` and/or `expected_wait_over_s`"
        ],
    ),
    Case(
        "queue_overflow_missing_to",
        [(C, "{after_s: 120, to: backup}", "{after_s: 120}")],
        ["c/centre.yaml:20:5 queues.general.overflow.to: missing required field 'to'"],
    ),
    Case(
        "queue_expansion_both",
        [(C, "min_level: 1", "expansion: [{after_s: 30, min_level: 2, any_agent: true}]")],
        [
            "c/centre.yaml:23:17 queues.backup.expansion[0]: an expansion step needs exactly one of `min_level` or `any_agent: true`"
        ],
    ),
    Case(
        "queue_expansion_order",
        [
            (
                C,
                "min_level: 1",
                "expansion: [{after_s: 60, min_level: 2}, {after_s: 30, any_agent: true}]",
            )
        ],
        [
            "c/centre.yaml:23:5 queues.backup.expansion: expansion steps must be in increasing `after_s` order (60s then 30s)"
        ],
    ),
    Case(
        "queue_target_pct",
        [(C, "min_level: 1", "target: {answered_pct: 120, within_s: 15}")],
        ["c/centre.yaml:23:28 queues.backup.target.answered_pct: must be more than 0 and less than 100, got 120"],
    ),
    Case(
        "queue_callback_order",
        [(C, "min_level: 1", "callback: {order: agent_last}")],
        [
            "c/centre.yaml:23:23 queues.backup.callback.order: unknown value 'agent_last' (did you mean 'agent_first'?); expected one of: agent_first, citizen_first"
        ],
    ),
    Case(
        "queue_announce_field",
        [(C, "min_level: 1", "announce: {every: 60}")],
        [
            "c/centre.yaml:23:16 queues.backup.announce.every: unknown field 'every' (did you mean 'every_s'?)"
        ],
    ),
    Case(
        "queue_unservable",
        [(C, "skills: [general]\n    min_level: 1", "skills: [english]\n    min_level: 5")],
        [
            "c/centre.yaml:22:5 queues.backup.skills: no agent has the skill(s) english at level 5 or above: nobody could answer this queue"
        ],
    ),
    Case(
        "mode_queue_unknown",
        [(C, "      general: {wrap_up_s: 10}", "      genral: {wrap_up_s: 10}")],
        [
            "c/centre.yaml:29:7 modes.emergency.queues.genral: no queue named 'genral' (did you mean 'general'?)"
        ],
    ),
    Case(
        "mode_queue_bad_value",
        [(C, "{wrap_up_s: 10}", "{wrap_up_s: -1}")],
        [
            "c/centre.yaml:29:28 modes.emergency.queues.general.wrap_up_s: must be at least 0, got -1"
        ],
    ),
    Case(
        "mode_queue_unknown_field",
        [(C, "{wrap_up_s: 10}", "{wrap_up: 10}")],
        [
            "c/centre.yaml:29:17 modes.emergency.queues.general.wrap_up: unknown field 'wrap_up' (did you mean 'wrap_up_s'?)"
        ],
    ),
    Case(
        "mode_queue_overflow_unknown",
        [(C, "{wrap_up_s: 10}", "{overflow: {to: nowhere}}")],
        [
            "c/centre.yaml:29:32 modes.emergency.queues.general.overflow.to: no queue named 'nowhere' (known: backup, general)"
        ],
    ),
    Case(
        "mode_line_unknown",
        [
            (
                C,
                "    queues:\n      general:",
                '    lines: {"12346": {flow: main}}\n    queues:\n      general:',
            )
        ],
        [
            "c/centre.yaml:28:13 modes.emergency.lines.\"12346\": no line named '12346' (did you mean '12345'?)"
        ],
    ),
    Case(
        "mode_line_flow_unknown",
        [
            (
                C,
                "    queues:\n      general:",
                '    lines: {"12345": {flow: emergency}}\n    queues:\n      general:',
            )
        ],
        [
            "c/centre.yaml:28:29 modes.emergency.lines.\"12345\".flow: no flow named 'emergency' (known: main)"
        ],
    ),
    Case(
        "mode_roster_unknown",
        [(C, "    queues:\n      general:", "    roster: emergncy\n    queues:\n      general:")],
        ["c/centre.yaml:28:13 modes.emergency.roster: no roster named 'emergncy' (known: normal)"],
    ),
    Case(
        "mode_normal_missing",
        [
            (
                C,
                "  normal:\n    description: normal operation",
                "  usual:\n    description: normal operation",
            )
        ],
        ["c/centre.yaml:24:1 modes: a 'normal' mode is required (the centre starts in it)"],
    ),
    Case(
        "schedule_time_invalid",
        [(C, '"13:30-17:30"', '"13:30-25:30"')],
        [
            "c/centre.yaml:32:26 schedules.office.mon[1]: '25:30' is not a time of day as HH:MM (e.g. 08:30)"
        ],
    ),
    Case(
        "schedule_range_invalid",
        [(C, '"13:30-17:30"', '"half past one"')],
        [
            "c/centre.yaml:32:26 schedules.office.mon[1]: 'half past one' is not a time range as HH:MM-HH:MM (e.g. 08:30-12:00)"
        ],
    ),
    Case(
        "schedule_range_empty",
        [(C, '"13:30-17:30"', '"13:30-13:30"')],
        [
            "c/centre.yaml:32:26 schedules.office.mon[1]: 13:30-13:30 is empty or a whole day (start equals end); use `always: true` for 24h"
        ],
    ),
    Case(
        "schedule_never_open",
        [(C, '    mon: ["08:30-12:00", "13:30-17:30"]', "    description: nothing")],
        [
            "c/centre.yaml:31:3 schedules.office: a schedule needs weekday hours (e.g. mon: [08:30-17:30]) or `always: true`"
        ],
    ),
    Case(
        "schedule_always_and_hours",
        [(C, '    mon: ["08:30-12:00"', '    always: true\n    mon: ["08:30-12:00"')],
        [
            "c/centre.yaml:31:3 schedules.office: `always: true` and weekday hours contradict each other"
        ],
    ),
    Case(
        "schedule_calendar_unknown",
        [(C, '    mon: ["08:30-12:00"', '    calendar: cn\n    mon: ["08:30-12:00"')],
        [
            "c/centre.yaml:32:15 schedules.office.calendar: no holiday calendar named 'cn' (none is defined)"
        ],
    ),
    Case(
        "schedule_weekday_unknown",
        [(C, '    mon: ["08:30-12:00"', '    mo: ["08:30-12:00"')],
        ["c/centre.yaml:32:5 schedules.office.mo: unknown field 'mo' (did you mean 'mon'?)"],
    ),
    Case(
        "holiday_end_before_start",
        [
            (
                C,
                None,
                "holidays:\n  cn:\n    holidays:\n      - {name: 国庆节, start: 2026-10-07, end: 2026-10-01}\n",
            )
        ],
        [
            "c/centre.yaml:48:9 holidays.cn.holidays[0]: holiday ends (2026-10-01) before it starts (2026-10-07)"
        ],
    ),
    Case(
        "holiday_and_workday",
        [
            (
                C,
                None,
                "holidays:\n  cn:\n    holidays:\n      - {name: 元旦, date: 2026-01-01}\n    workdays: [2026-01-01]\n",
            )
        ],
        [
            "c/centre.yaml:46:3 holidays.cn: 2026-01-01 is both a holiday (元旦) and a make-up workday"
        ],
    ),
    Case(
        "holiday_bad_date",
        [(C, None, "holidays:\n  cn:\n    holidays:\n      - {name: 元旦, date: 2026-02-30}\n")],
        [
            "c/centre.yaml:48:26 holidays.cn.holidays[0].date: '2026-02-30' is not a real calendar date/time"
        ],
    ),
    Case(
        "holiday_not_a_date",
        [(C, None, "holidays:\n  cn:\n    workdays: [soon]\n")],
        ["c/centre.yaml:47:16 holidays.cn.workdays[0]: expected a date as YYYY-MM-DD, got 'soon'"],
    ),
    Case(
        "caller_list_bad_number",
        [(C, None, "caller_lists:\n  blocked:\n    numbers: [13800138000, call-me]\n")],
        [
            "c/centre.yaml:47:28 caller_lists.blocked.numbers[1]: 'call-me' is not a phone number (digits, an optional leading '+')"
        ],
    ),
    Case(
        "agent_team_unknown",
        [(C, "team: day, skills: {general: 2", "team: night, skills: {general: 2")],
        ["c/centre.yaml:35:28 agents.\"1002\".team: no team named 'night' (known: day)"],
    ),
    Case(
        "agent_skill_unknown",
        [(C, "skills: {general: 4}", "skills: {general: 4, epidemc: 3}")],
        [
            "c/centre.yaml:34:54 agents.\"1001\".skills.epidemc: no skill named 'epidemc' (known: english, general)"
        ],
    ),
    Case(
        "agent_skill_level",
        [(C, "skills: {general: 4}", "skills: {general: 6}")],
        ['c/centre.yaml:34:51 agents."1001".skills.general: must be at most 5, got 6'],
    ),
    Case(
        "agent_name_missing",
        [(C, "{name: 王芳, team: day", "{team: day")],
        ["c/centre.yaml:34:3 agents.\"1001\".name: missing required field 'name'"],
    ),
    Case(
        "team_leader_unknown",
        [(C, "    description: day team", '    leaders: ["1009"]')],
        ["c/centre.yaml:16:15 teams.day.leaders[0]: no agent named '1009' (did you mean '1002'?)"],
    ),
    Case(
        "seat_endpoint_invalid",
        [(C, "s2: PJSIP/8002", "s2: 8002")],
        ["c/centre.yaml:38:7 seats.s2: '8002' is not an endpoint as TECH/name, e.g. PJSIP/8001"],
    ),
    Case(
        "seat_endpoint_duplicate",
        [(C, "s2: PJSIP/8002", "s2: PJSIP/8001")],
        ["c/centre.yaml:38:7 seats.s2: endpoint PJSIP/8001 is already used by seat 's1'"],
    ),
    Case(
        "shift_time_invalid",
        [(C, 'end: "17:00"', 'end: "17:75"')],
        ["c/centre.yaml:40:30 shifts.day.end: '17:75' is not a time of day as HH:MM (e.g. 08:30)"],
    ),
    Case(
        "shift_empty",
        [(C, 'end: "17:00"', 'end: "08:00"')],
        ["c/centre.yaml:40:3 shifts.day: a shift cannot start and end at the same time"],
    ),
    Case(
        "roster_shift_unknown",
        [(C, '      day: ["1001", "1002"]', '      dya: ["1001", "1002"]')],
        ["c/centre.yaml:44:7 rosters.normal.daily.dya: no shift named 'dya' (did you mean 'day'?)"],
    ),
    Case(
        "roster_agent_unknown",
        [(C, '["1001", "1002"]', '["1001", "1009"]')],
        [
            "c/centre.yaml:44:21 rosters.normal.daily.day[1]: no agent named '1009' (did you mean '1002'?)"
        ],
    ),
    Case(
        "roster_agent_twice",
        [(C, '["1001", "1002"]', '["1001", "1001"]')],
        ["c/centre.yaml:44:21 rosters.normal.daily.day[1]: agent '1001' is listed twice"],
    ),
    Case(
        "roster_day_key_invalid",
        [(C, "    daily:", '    days:\n      someday: {day: ["1001"]}\n    daily:')],
        [
            "c/centre.yaml:44:7 rosters.normal.days.someday: 'someday' is neither a weekday (mon..sun) nor a date (2026-10-01)"
        ],
    ),
    Case(
        "roster_reserve_unknown",
        [(C, "    daily:", '    reserve: ["2001"]\n    daily:')],
        [
            "c/centre.yaml:43:15 rosters.normal.reserve[0]: no agent named '2001' (did you mean '1001'?)"
        ],
    ),
    Case(
        "roster_guest_skill_unknown",
        [
            (
                C,
                "    daily:",
                "    guests:\n      health: {name: 卫健委带班领导, skill: epidemic, seat: s1}\n    daily:",
            )
        ],
        [
            "c/centre.yaml:44:38 rosters.normal.guests.health.skill: no skill named 'epidemic' (known: english, general)",
            "c/centre.yaml:44:54 rosters.normal.guests.health.seat: seat 's1' is not a guest seat (mark it `guest: true`)",
        ],
    ),
    Case(
        "secret_key",
        [(C, "timezone: Asia/Shanghai", "timezone: Asia/Shanghai\n  ari_password: hunter2")],
        [
            "c/centre.yaml:5:3 centre.ari_password: 'ari_password' looks like a secret; secrets never go in configuration files: set them in the environment (HOTLINE_ARI_PASSWORD, HOTLINE_AMI_SECRET, HOTLINE_TWILIO_AUTH_TOKEN, ...; see hotline.config.settings)"
        ],
    ),
    Case(
        "secret_in_url",
        [(C, "description: day team", "description: see https://admin:pw@intranet/roster")],
        [
            "c/centre.yaml:16:18 teams.day.description: this URL contains a password; secrets never go in configuration files: set them in the environment (HOTLINE_ARI_PASSWORD, HOTLINE_AMI_SECRET, HOTLINE_TWILIO_AUTH_TOKEN, ...; see hotline.config.settings)"
        ],
    ),
    Case(
        "duplicate_key",
        [(C, "  s2: PJSIP/8002", "  s1: PJSIP/8002")],
        [
            "c/centre.yaml:38:3 seats.s1: duplicate key 's1' (first defined at line 37, column 3); YAML would silently keep only the last one"
        ],
    ),
    Case(
        "yaml_syntax",
        [(C, "languages: [zh, en]", "languages: [zh, en")],
        ["c/centre.yaml:7:6 YAML syntax error: expected ',' or ']', but got ':'"],
    ),
    Case(
        "tab_indent",
        [(C, "  general: general enquiries", "\tgeneral: general enquiries")],
        [
            "c/centre.yaml:12:1 YAML syntax error: found character '\\t' that cannot start any token (YAML indents with spaces, not tabs)"
        ],
    ),
    Case(
        "not_a_mapping",
        [("prompts.yaml", "greeting:\n", "- greeting:\n")],
        ["c/prompts.yaml:1:1 expected a mapping (name: value), got a list"],
    ),
    Case(
        "include_missing",
        [(C, "languages: [zh, en]", "files: {include: [people.yaml]}\nlanguages: [zh, en]")],
        ["c/centre.yaml:6:19 files.include[0]: file not found: c/people.yaml"],
    ),
    Case(
        "flow_name_mismatch",
        [("flows/main.yaml", "name: main", "name: mainline")],
        [
            "c/flows/main.yaml:1:7 name: flow is named 'mainline' but its file is main.yaml; the file name (without .yaml) must equal the name"
        ],
    ),
    Case(
        "flow_field_unknown",
        [("flows/main.yaml", "    next: to_queue", "    nxt: to_queue")],
        [
            "c/flows/main.yaml:4:3 nodes.hello.next: missing required field 'next'",
            "c/flows/main.yaml:7:5 nodes.hello.nxt: unknown field 'nxt' (did you mean 'next'?)",
        ],
    ),
    Case(
        "flow_node_type_unknown",
        [("flows/main.yaml", "type: queue", "type: queu")],
        [
            "c/flows/main.yaml:9:11 nodes.to_queue.type: unknown type 'queu' (did you mean 'queue'?); expected one of: play, menu, collect, speech, branch, queue, transfer, record, callback, survey, set, hangup, goto"
        ],
    ),
    Case(
        "flow_node_wrong_type",
        [("flows/main.yaml", "    queue: general", "    queue: general\n    priority: high")],
        ["c/flows/main.yaml:11:15 nodes.to_queue.priority: expected a whole number, got 'high'"],
    ),
    Case(
        "flow_goto_unknown",
        [("flows/main.yaml", "next: to_queue", "next: to_queu")],
        ["c/flows/main.yaml:7:11 nodes.hello.next: no node named 'to_queu'"],
        exact=False,
    ),
    Case(
        "flow_queue_unknown",
        [("flows/main.yaml", "queue: general", "queue: generl")],
        ["c/flows/main.yaml:10:12 nodes.to_queue.queue: no queue named 'generl'"],
        exact=False,
    ),
    Case(
        "prompt_text_missing",
        [
            (
                "prompts.yaml",
                "  zh: 您好，这里是测试热线。\n  en: Hello, this is the test hotline.\n",
                "  audio: {zh: greeting.wav}\n",
            )
        ],
        ["c/prompts.yaml:1:1 greeting: "],  # the wording is the prompt catalogue's
        exact=False,
    ),
    Case(
        "flow_secret",
        [("flows/main.yaml", "start: hello", "start: hello\napi_token: abc")],
        [
            "c/flows/main.yaml:3:1 api_token: 'api_token' looks like a secret; secrets never go in configuration files: set them in the environment (HOTLINE_ARI_PASSWORD, HOTLINE_AMI_SECRET, HOTLINE_TWILIO_AUTH_TOKEN, ...; see hotline.config.settings)"
        ],
    ),
    Case(
        "mode_overflow_loop",
        [
            (
                C,
                "{wrap_up_s: 10}",
                "{wrap_up_s: 10}\n      backup: {overflow: {after_s: 30, to: general}}",
            )
        ],
        [
            "c/centre.yaml:30:44 modes.emergency.queues.backup.overflow.to: overflow goes round in a circle in mode 'emergency': general -> backup -> general"
        ],
    ),
    Case(
        "languages_duplicate",
        [(C, "languages: [zh, en]", "languages: [zh, en, zh]")],
        ["c/centre.yaml:6:21 languages[2]: language 'zh' is listed twice"],
    ),
    Case(
        "mode_line_schedule_unknown",
        [
            (
                C,
                "    queues:\n      general:",
                '    lines: {"12345": {schedule: nights}}\n    queues:\n      general:',
            )
        ],
        [
            "c/centre.yaml:28:33 modes.emergency.lines.\"12345\".schedule: no schedule named 'nights' (known: office)"
        ],
    ),
    Case(
        "mode_deadline_not_positive",
        [(C, "    description: normal operation", "    work_order_deadline_hours: {urgent: 0}")],
        [
            "c/centre.yaml:26:41 modes.normal.work_order_deadline_hours.urgent: must be more than 0.0, got 0"
        ],
    ),
    Case(
        "queue_max_length_zero",
        [(C, "min_level: 1", "max_length: 0")],
        ["c/centre.yaml:23:17 queues.backup.max_length: must be at least 1, got 0"],
    ),
    Case(
        "queue_callback_attempts_zero",
        [(C, "min_level: 1", "callback: {attempts: 0}")],
        ["c/centre.yaml:23:26 queues.backup.callback.attempts: must be at least 1, got 0"],
    ),
    Case(
        "queue_pause_limit_zero",
        [(C, "min_level: 1", "pause_limits_s: {lunch: 0}")],
        ["c/centre.yaml:23:29 queues.backup.pause_limits_s.lunch: must be more than 0, got 0"],
    ),
    Case(
        "queue_skills_not_a_list",
        [(C, "skills: [general]\n    min_level: 1", "skills: {general: 3}\n    min_level: 1")],
        ["c/centre.yaml:22:5 queues.backup.skills: expected a list, got a mapping"],
    ),
    Case(
        "guest_seat_unknown",
        [
            (
                C,
                "    daily:",
                "    guests:\n      health: {name: 卫健委带班领导, skill: general, seat: g9}\n    daily:",
            )
        ],
        [
            "c/centre.yaml:44:53 rosters.normal.guests.health.seat: no seat named 'g9' (known: s1, s2)"
        ],
    ),
    Case(
        "guest_shift_unknown",
        [
            (
                C,
                "    daily:",
                "    guests:\n      health: {name: 卫健委带班领导, skill: general, shifts: [nite]}\n    daily:",
            )
        ],
        [
            "c/centre.yaml:44:56 rosters.normal.guests.health.shifts[0]: no shift named 'nite' (known: day)"
        ],
    ),
    Case(
        "caller_list_prefix_bad",
        [(C, None, "caller_lists:\n  vip:\n    prefixes: ['025 8']\n")],
        [
            "c/centre.yaml:47:16 caller_lists.vip.prefixes[0]: '025 8' is not a phone number (digits, an optional leading '+')"
        ],
    ),
    Case(
        "section_wrong_type",
        [(C, "languages: [zh, en]", "languages: zh")],
        ["c/centre.yaml:6:12 languages: expected a list, got 'zh'"],
    ),
    Case(
        "queues_not_a_mapping",
        [
            (
                C,
                "queues:\n  general:\n    skills: [general]\n    overflow: {after_s: 120, to: backup}\n  backup:\n    skills: [general]\n    min_level: 1\n",
                "queues: [general, backup]\n",
            )
        ],
        ["c/centre.yaml:17:1 queues: expected a mapping (name: value), got a list"],
    ),
    Case(
        "roster_agent_in_overlapping_shifts",
        [
            (
                C,
                'day: {start: "08:00", end: "17:00"}',
                'day: {start: "08:00", end: "17:00"}\n  late: {start: "16:00", end: "01:00"}\n  night: {start: "00:00", end: "08:00"}',
            ),
            (
                C,
                '      day: ["1001", "1002"]',
                '      day: ["1001", "1002"]\n      late: ["1002"]\n      night: ["1002", "1001"]',
            ),
        ],
        [
            "c/centre.yaml:47:14 rosters.normal.daily.late[0]: agent '1002' also works shift 'day', which overlaps",
            "c/centre.yaml:48:15 rosters.normal.daily.night[0]: agent '1002' also works shift 'late', which overlaps",
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_problem_is_reported_with_file_line_and_path(centre: CentreCopy, case: Case) -> None:
    for file, old, new in case.edits:
        if old is None:
            centre.append(file, new)
        else:
            centre.edit(file, old, new)
    problems = centre.problems()
    if case.exact:
        assert problems == case.expected
    else:
        for expected in case.expected:
            assert any(p.startswith(expected) for p in problems), (expected, problems)
