"""The pages in a real browser against the running service: the supervisor's wallboard
(the 15-second answer rate with its definition, softphone registration per seat) and the
switch to emergency mode; an agent takes a call from the screen pop (with the caller's
past calls and orders) to a dispatched work order; the department page, open all along,
receives the order live, signs for it, asks for an extension and answers it."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from hotline.store.calls import upsert_calls
from hotline.vocabulary.events import AgentLoggedIn, AgentReady
from web.conftest import Browser, Site, sign_in
from web.pbx import ScriptedPbx

STATIC = Path(__file__).resolve().parents[2] / "hotline" / "api" / "static"


async def test_login_routes_by_role_and_refuses_a_wrong_password(site: Site,
                                                                 browser: Browser) -> None:
    page = await browser.page()
    await page.goto(site.url("/"))
    await page.fill("#username", "super")
    await page.fill("#password", "wrong")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    for name, path in (("agent1", "/desk.html"), ("dept_zjj", "/department.html"),
                       ("super", "/wallboard.html")):
        fresh = await browser.page()
        await sign_in(fresh, site, name)
        await expect(fresh).to_have_url(site.url(path))
        token = await fresh.evaluate("sessionStorage.getItem('hotline.token')")
        assert token and len(token) > 20
        await fresh.close()
    # A page of another role sends the user back to the login page.
    agent = await browser.page()
    await sign_in(agent, site, "agent1")
    await expect(agent).to_have_url(site.url("/desk.html"))
    await agent.goto(site.url("/wallboard.html"))
    await expect(agent).to_have_url(site.url("/desk.html"))  # index routes it home again


async def test_supervisor_switches_to_emergency(site: Site, browser: Browser) -> None:
    client = site.harness.client
    for name, agent, seat in (("agent1", "1001", "s01"), ("agent2", "1002", "s02")):
        headers = await site.harness.headers(name)
        assert (await client.post(f"/api/agents/{agent}/login", json={"seat_id": seat},
                                  headers=headers)).status_code == 200
    await client.post("/api/agents/1001/ready", headers=await site.harness.headers("agent1"))
    await client.post("/api/agents/1002/pause", json={"reason": "lunch"},
                      headers=await site.harness.headers("agent2"))
    # A third agent on a seat whose softphone the presence monitor has never seen.
    await site.harness.runtime.post(AgentLoggedIn("1003", "s03", time.time()))
    await site.harness.runtime.post(AgentReady("1003", time.time()))
    await site.harness.runtime.drain()
    page = await browser.page()
    await sign_in(page, site, "super")
    await expect(page).to_have_url(site.url("/wallboard.html"))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    tiles = page.locator("#tiles .tile")
    await expect(tiles.first).to_be_visible()
    assert await tiles.count() >= 2  # the centre and at least one queue
    general = page.locator('#tiles .tile[data-queue="general"]')
    await expect(general).to_be_visible()
    # Every KPI shows its definition where it is displayed.
    for kpi in await page.locator("#tiles .kpi[data-kpi]").all():
        name = await kpi.get_attribute("data-kpi")
        if name != "staffed":
            assert "÷" in (await kpi.get_attribute("title") or "") or "数" in (
                await kpi.get_attribute("title") or ""), name
    # Each queue tile: the 15-second answer rate beside the answer rate and the service
    # level, each with what it divides by what written under it.
    rate = general.locator('.kpi[data-kpi="answer_rate_15s"]')
    await expect(rate).to_be_visible()
    await expect(rate.locator(".kpi-name")).to_have_text("15秒接通率")
    await expect(rate.locator(".kpi-def")).to_have_text(
        "15 秒内接通数 ÷ 进入队列的来话数（GB/T 33358）")
    for name in ("answer_rate", "service_level"):
        await expect(general.locator(f'.kpi[data-kpi="{name}"] .kpi-def')).to_contain_text("÷")
    await expect(general.locator(".kpi[data-kpi] .kpi-name")).to_contain_text(
        ["15秒接通率", "接通率", "服务水平"])
    await expect(page.locator('.seat[data-agent="1001"]')).to_contain_text("空闲")
    await expect(page.locator('.seat[data-agent="1002"]')).to_contain_text("小休 · 用餐")
    # Softphone registration from the presence monitor; unknown for a seat never seen.
    for agent, phone, text in (("1001", "registered", "已注册"),
                               ("1002", "unregistered", "未注册"),
                               ("1003", "unknown", "注册状态未知")):
        mark = page.locator(f'.seat[data-agent="{agent}"] .seat-phone')
        await expect(mark).to_have_attribute("data-softphone", phone)
        await expect(mark).to_contain_text(text)
    await expect(page.locator('.count[data-state="paused"]')).to_contain_text("1")
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#chart-hourly canvas")).to_have_count(1)
    await browser.shot(page, "wallboard-normal")
    normal_background = await general.evaluate("e => getComputedStyle(e).backgroundColor")

    # The switch asks for confirmation and a reason.
    await page.click("#mode-switch")
    dialog = page.locator("#mode-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#mode-dialog-title")).to_contain_text("应急模式")
    await page.click("#mode-confirm")
    await expect(page.locator("#mode-error")).to_have_text("请填写切换原因")
    await page.fill("#mode-reason", "疫情突发，来话激增")
    zone = ZoneInfo(site.harness.services.centre.config.centre.timezone)  # the browser's
    back = (dt.datetime.now(zone) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    await page.fill("#mode-until", back)
    await page.click("#mode-confirm")
    await expect(dialog).to_be_hidden()

    banner = page.locator("#banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("应急模式")
    await expect(banner).to_contain_text("疫情突发，来话激增")
    await expect(page.locator("body")).to_have_class(re.compile(r"\bmode-emergency\b"))
    await expect(page.locator("#mode-switch")).to_have_text("恢复日常模式")
    emergency_background = await general.evaluate("e => getComputedStyle(e).backgroundColor")
    assert emergency_background != normal_background
    history = page.locator("#history tr").first
    await expect(history).to_contain_text("日常模式 → 应急模式")
    await expect(history).to_contain_text("supervisor:super")
    await expect(history).to_contain_text("疫情突发，来话激增")
    view = site.harness.runtime.view().centre
    assert view is not None and view.mode == "emergency"
    await browser.shot(page, "wallboard-emergency")

    # The socket drops: the page says it is reconnecting, then comes back by itself.
    await page.evaluate("window.hotlineSocket.drop()")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    await expect(page.locator("#conn")).to_contain_text("重连")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)

    # English is one click away.
    await page.click("#lang")
    await expect(banner).to_contain_text("Emergency mode · on since")
    await expect(page.locator("#mode-switch")).to_have_text("Return to normal mode")
    await expect(rate.locator(".kpi-def")).to_contain_text(
        "answered within 15 s / calls offered to the queue")
    await expect(page.locator('.seat[data-agent="1002"] .seat-phone')).to_contain_text(
        "not registered")
    await browser.shot(page, "wallboard-emergency-en")
    await page.click("#lang")


async def test_agent_takes_a_call_and_the_department_answers_the_order(
        site: Site, browser: Browser) -> None:
    # The citizen called twice before; an order came of the later call.
    now = time.time()
    await upsert_calls(site.harness.engine, [
        {"call_id": f"past-{i}", "line": "12345", "caller": "13800138000",
         "arrived_at": now - 86400 * (3 - i), "answered_at": now - 86400 * (3 - i) + 9,
         "ended_at": now - 86400 * (3 - i) + 300, "queue": "general", "agent": "1002",
         "seat": "s02", "wait_s": 9.0, "talk_s": 291.0, "outcome": "answered"}
        for i in (1, 2)
    ])
    earlier = await site.harness.client.post(
        "/api/workorders", json={"call_id": "past-2", "content": "电梯异响，要求检修"},
        headers=await site.harness.headers("super"))
    assert earlier.status_code == 201, earlier.text
    earlier_number = earlier.json()["number"]

    # The department's page is open before anything is sent to it.
    dept = await browser.page()
    await sign_in(dept, site, "dept_zjj")
    await expect(dept).to_have_url(site.url("/department.html"))
    await expect(dept.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(dept.locator("#orders")).to_contain_text("暂无工单")

    pbx = ScriptedPbx().attach(site.harness.runtime)
    desk = await browser.page()
    await sign_in(desk, site, "agent1")
    await expect(desk).to_have_url(site.url("/desk.html"))
    await expect(desk.locator("#conn")).to_have_attribute("data-state", "live")
    state = desk.locator("#seat-state")
    await expect(state).to_have_attribute("data-state", "logged-out")
    await expect(desk.locator("#btn-hold")).to_be_disabled()
    await expect(desk.locator("#btn-hangup")).to_be_disabled()

    await desk.fill("#seat-input", "s01")
    await desk.click("#btn-login")
    await expect(state).to_have_attribute("data-state", "paused")
    await desk.click("#btn-ready")
    await expect(state).to_have_attribute("data-state", "ready")

    # The PBX brings a call in; the IVR hears a complaint about a broken lift.
    ring = await pbx.call_until_ringing(
        "call-web-1", "13800138000", "12345",
        [("投诉", None), ("我家小区电梯坏了三天没人修", "010302")])
    assert ring.agent_id == "1001"
    await expect(state).to_have_attribute("data-state", "ringing")
    await expect(desk.locator("#pop-title")).to_have_text("来电")
    await expect(desk.locator("#pop-caller")).to_have_text("13800138000")
    await expect(desk.locator("#pop-line")).to_have_text("12345")
    await expect(desk.locator("#pop-transcript")).to_contain_text("电梯坏了三天没人修")
    await expect(desk.locator("#pop-path")).to_contain_text("main:request")
    await expect(desk.locator("#pop-category")).to_contain_text("电梯故障")
    await expect(desk.locator("#pop-department")).to_contain_text("scjg")
    await expect(desk.locator("#order-category")).to_have_value("010302")
    await expect(desk.locator("#order-content")).to_have_value(re.compile("电梯坏了"))
    # The caller's past calls and orders, newest first.
    past_calls = desk.locator("#pop-calls li.past-call")
    await expect(past_calls).to_have_count(2)
    assert [await x.get_attribute("data-call") for x in await past_calls.all()] == [
        "past-2", "past-1"]
    await expect(past_calls.first).to_contain_text("已接通")
    past_orders = desk.locator("#pop-orders li.past-order")
    await expect(past_orders).to_have_count(1)
    await expect(past_orders.first).to_have_attribute("data-number", earlier_number)
    await expect(past_orders.first).to_contain_text("电梯异响，要求检修")
    await browser.shot(desk, "desk-screen-pop")

    await pbx.answer(ring)
    await expect(state).to_have_attribute("data-state", "on-call")
    await expect(desk.locator("#pop-title")).to_have_text("通话中")
    # Call controls: hold puts the citizen on music, the same button resumes.
    hold = desk.locator("#btn-hold")
    await expect(hold).to_be_enabled()
    await hold.click()
    await expect(hold).to_have_text("恢复通话")
    await hold.click()
    await expect(hold).to_have_text("保持")
    held = [type(c).__name__ for c in pbx.commands if getattr(c, "call_id", "") == ring.call_id]
    assert "HoldCitizen" in held and "ResumeCitizen" in held
    await pbx.end(ring.call_id)
    await expect(state).to_have_attribute("data-state", "wrap-up")
    await expect(desk.locator("#wrap-timer")).to_be_visible()
    await expect(desk.locator("#wrap-timer")).to_contain_text("话后整理")

    # The agent files the order (re-classified by hand) and dispatches it.
    await desk.select_option("#order-category", "01")
    await expect(desk.locator("#order-department")).to_have_value("zjj")
    await desk.fill("#order-address", "鼓楼区中山路1号")
    await desk.fill("#order-caller-name", "张先生")
    await desk.click("#btn-order-dispatch")
    result = desk.locator("#order-result")
    await expect(result).to_have_attribute("data-status", "dispatched")
    await expect(result).to_contain_text("市住房和城乡建设局")
    number = await result.get_attribute("data-number")
    assert number
    await browser.shot(desk, "desk-wrap-up-order")
    await desk.click("#btn-wrap-done")
    await expect(state).to_have_attribute("data-state", "ready")
    await expect(desk.locator("#wrap-timer")).to_be_hidden()
    await browser.shot(desk, "desk-ready-again")

    # The department's page shows the order without being reloaded.
    row = dept.locator(f'tr.order-row[data-number="{number}"]')
    await expect(row).to_be_visible()
    await expect(row).to_have_attribute("data-deadline", "green")
    await expect(dept.locator("#dept-name")).to_contain_text("市住房和城乡建设局")
    await browser.shot(dept, "department-live-arrived")
    # A second page of the same department follows what the first one does.
    other = await browser.page()
    await sign_in(other, site, "dept_zjj")
    await expect(other).to_have_url(site.url("/department.html"))
    other_row = other.locator(f'tr.order-row[data-number="{number}"]')
    await expect(other_row).to_contain_text("已派单")
    # The department signs for it, asks for more time and answers.
    await row.click()
    await expect(dept.locator("#detail-number")).to_have_text(number)
    await expect(dept.locator("#detail-address")).to_have_text("鼓楼区中山路1号")
    await expect(dept.locator("#act-reply")).to_be_disabled()
    await dept.click("#act-sign_for")
    await expect(dept.locator("#detail-panel")).to_have_attribute("data-status", "signed")
    await expect(other_row).to_contain_text("已签收")  # pushed, not reloaded

    # The socket drops: the page reconnects by itself and is whole again.
    await other.evaluate("window.hotlineSocket.drop()")
    await expect(other.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    await expect(other.locator("#conn")).to_have_attribute("data-state", "live",
                                                           timeout=15_000)
    await expect(other_row).to_contain_text("已签收")

    zone = ZoneInfo(site.harness.services.centre.config.centre.timezone)
    later = (dt.datetime.now(zone) + dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    await dept.fill("#extension-until", later)
    await dept.fill("#extension-reason", "需协调物业与维保单位")
    await dept.click("#act-request_extension")
    history = dept.locator("#detail-history")
    await expect(history).to_contain_text("申请延期")
    await expect(history).to_contain_text("需协调物业与维保单位")

    await dept.fill("#reply-answer", "已联系物业，电梯已修复")
    await dept.click("#act-reply")
    await expect(dept.locator("#detail-panel")).to_have_attribute("data-status", "replied")
    await expect(history).to_contain_text("已联系物业，电梯已修复")
    await expect(row).to_have_attribute("data-deadline", "none")
    await expect(other_row).to_contain_text("已反馈")
    await browser.shot(dept, "department-replied")
    await browser.shot(other, "department-live-followed")

    # What the pages did is what the store holds.
    headers = await site.harness.headers("super")
    order = (await site.harness.client.get(f"/api/workorders/{number}", headers=headers)).json()
    assert order["status"] == "replied" and order["department"] == "zjj"
    assert [h["action"] for h in order["history"]] == [
        "register", "dispatch", "sign_for", "request_extension", "start", "reply"]
    assert order["caller"] == "13800138000" and order["category"] == "01"


def test_every_string_is_in_both_languages_and_pages_have_no_inline_code() -> None:
    text = (STATIC / "js" / "i18n.js").read_text(encoding="utf-8")
    body = text[text.index("window.HOTLINE_I18N = ") + len("window.HOTLINE_I18N = "):]
    tables = json.loads(body.rstrip().rstrip(";"))
    assert set(tables["zh"]) == set(tables["en"])
    used = set()
    for path in [*STATIC.glob("*.html"), *(STATIC / "js").glob("*.js")]:
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'data-i18n(?:-title|-placeholder)?="([a-z_.-]+)"', source))
        used |= set(re.findall(r'\bt\("([a-z_]+\.[a-z_.-]*[a-z_])"', source))
        if path.suffix == ".html":
            assert "style=" not in source, path
            assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source) is None, path
            assert re.search(r"\son[a-z]+=", source) is None, path
            assert "<style" not in source, path
    assert used - set(tables["zh"]) == set()
    assert (STATIC / "vendor" / "echarts-5.5.1" / "LICENSE").exists()
