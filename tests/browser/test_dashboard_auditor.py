"""The auditor's dashboard: every channel in the explorer, blocks and transactions decoded,
the verification passing on each channel, the history of any resource read from the blocks,
and nothing it can send: no form, and its connector's API refuses as the ledger would."""

from __future__ import annotations

import json

import pytest
from connector_helpers import committed, diagram, new_pod_code, pod_body
from dashboard import accessible, log_in, no_traceback, shot
from playwright.sync_api import expect

from gateway import EndorseError, from_profile


def test_auditor_reads_every_channel_and_verifies_it(web, chromium, logins, shots) -> None:
    code = new_pod_code()
    bsp = web.client("bsp1")
    committed(bsp, "POST", "/pods", pod_body(code))
    committed(bsp, "POST", f"/pods/{code}/attachments", diagram())

    auditor = log_in(chromium, web, logins, "regulator", "viewer")
    home = auditor.page
    accessible(home)
    shot(home, shots, "auditor-home")
    assert home.locator("nav.side").inner_text().split("\n") == [
        "Home",
        "Resources (PODs)",
        "Resource groups (UVAMs)",
        "Participants",
        "Market",
        "Ledger explorer",
    ]

    explorer = auditor.go("/ui/explorer")
    profile = json.loads(web.profile.read_text())
    channels = sorted(profile["channels"])  # the auditor is on every one
    rows = explorer.locator("tbody tr")
    expect(rows).to_have_count(len(channels))
    for channel in channels:
        row = explorer.locator(
            "tbody tr", has=explorer.locator(f"a[href='/ui/explorer/{channel}']")
        )
        height = int(row.locator("td.num").inner_text())
        assert height >= 1, channel
    accessible(explorer)
    shot(explorer, shots, "auditor-explorer")

    # the genesis block shows the auditor a Reader and, by its Writers policy, a Writer of none
    genesis = auditor.go("/ui/explorer/bsp1-channel/blocks/0")
    regulator = genesis.locator("tr", has=genesis.locator("th", has_text="RegulatorMSP"))
    expect(regulator.locator("td").nth(1)).to_contain_text("'RegulatorMSP.client'")
    expect(regulator.locator("td").nth(2)).to_have_text("OR('RegulatorMSP.orderer')")
    accessible(genesis)
    shot(genesis, shots, "auditor-genesis-block")

    # every channel's chain verifies, from the page
    for channel in channels:
        blocks = auditor.go(f"/ui/explorer/{channel}")
        blocks.click("button:has-text('Verify the chain of blocks')")
        result = blocks.locator("#verify-result")
        expect(result).to_contain_text("The chain verifies.")
        no_traceback(blocks)
    accessible(blocks)
    shot(blocks, shots, "auditor-verification")

    # the POD's history from the blocks; the auditor's connector holds no chaincode query
    pod = auditor.go(f"/ui/pods/{code}")
    expect(pod.locator("#pod-status")).to_have_text("Open")
    expect(pod.locator("form[method=post]:not([action='/ui/logout'])")).to_have_count(0)
    accessible(pod)
    history = auditor.go(f"/ui/history/pod/{code}")
    versions = history.locator("ol.timeline > li")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("CreateAttachment")
    expect(versions.last).to_contain_text("RegisterPod")
    expect(history.locator("ol.timeline")).to_contain_text("BSP1MSP")
    accessible(history)
    shot(history, shots, "auditor-pod-history")

    # a transaction's read/write set, decoded
    tx_href = versions.first.locator("a[href*='/tx/']").get_attribute("href")
    tx = auditor.go(tx_href)
    expect(tx.locator("#rwset ~ div, section").last).to_contain_text(f"POD › {code}")
    expect(tx.locator("body")).not_to_contain_text("\\x00")
    accessible(tx)
    shot(tx, shots, "auditor-transaction")

    # the pages offer no write, and the connector's API refuses one
    for path in ("/ui/pods/new", "/ui/uvams/new", "/ui/loads"):
        page = auditor.go(path)
        expect(page.locator("h1")).to_have_text("Not allowed")
    api = web.client("regulator", "viewer")
    assert api.post("/pods", json=pod_body(new_pod_code())).status_code == 403
    reply = api.patch(f"/pods/{code}/status", json={"status": "UnderReview"})
    assert reply.status_code == 403, reply.text
    # ... and the channel refuses what the auditor signs, whatever sends it (the channel tier
    # checks the orderer too, on both engines: tests/sandbox/test_auditor_channel.py)
    with from_profile("regulator", "Admin", web.profile) as gw:
        network = gw.get_network("bsp1-channel")
        before = network.get_chain_info().height
        with pytest.raises(EndorseError) as refused:
            network.get_contract("registry").submit_transaction(
                "UpdatePodStatus", json.dumps({"flexResourceId": code, "status": "UnderReview"})
            )
        details = " ".join(d.message for d in refused.value.details)
        assert "/Channel/Application/Writers" in details, details
        assert network.get_chain_info().height == before
    auditor.context.close()
