import io

from rich.console import Console

from cli import views


def render(renderable: object, width: int = 80) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_run_report_fits_80_columns_with_every_count() -> None:
    summary = {
        "run_id": 7,
        "seconds": 1.234,
        "systems": {
            "hubspot": {
                "pulled": 73,
                "changed": 72,
                "created": 30,
                "updated": 25,
                "dead_lettered": 1,
                "conflicts": 0,
                "api_calls": 3,
            },
            "mailchimp": {
                "pulled": 70,
                "changed": 69,
                "created": 30,
                "updated": 40,
                "dead_lettered": 2,
                "conflicts": 1,
                "api_calls": 3,
            },
        },
    }
    text = render(views.run_report("First sync", summary))
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    mailchimp = next(line for line in text.splitlines() if line.strip().startswith("mailchimp"))
    assert mailchimp.split() == ["mailchimp", "70", "69", "30", "40", "2", "1", "3"]
    assert "run 7 took 1.23 s" in text


def test_outbox_line_names_states_in_order() -> None:
    line = views.outbox_line({"mailchimp": {"dead": 2, "sent": 70}, "hubspot": {"sent": 55}})
    assert line == "Outbox (all time): hubspot 55 sent; mailchimp 70 sent, 2 dead"
    assert views.outbox_line({}) == "Outbox: empty"
