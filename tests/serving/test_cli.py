"""`domainforge chat` on piped stdin and `domainforge serve`'s option handling (the server itself is
tested in test_server.py)."""
from __future__ import annotations

from click.testing import CliRunner
from planted import PLANTED_QUESTIONS

from domainforge.cli import cli
from domainforge.serving import GenerationSettings


def test_chat_answers_keeps_the_conversation_and_exits(tiny_model_dir, engine):
    first = [{"role": "user", "content": "发烧怎么办？"}]
    answer = engine.complete(engine.prepare(first, GenerationSettings(max_tokens=8))).text
    second = [*first, {"role": "assistant", "content": answer}, {"role": "user", "content": "还有呢？"}]
    follow_up = engine.complete(engine.prepare(second, GenerationSettings(max_tokens=8))).text

    result = CliRunner().invoke(
        cli, ["chat", "--model", str(tiny_model_dir), "--device", "cpu", "--max-tokens", "8"],
        input="发烧怎么办？\n还有呢？\n/reset\n/exit\nnever read\n",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Chatting with tiny-chat. /exit or Ctrl-D quits")
    assert f"> {answer}\n> {follow_up}\n> (conversation cleared)\n> " in result.stdout
    assert "never read" not in result.output


def test_chat_ends_at_end_of_input_and_grounds_answers(tiny_model_dir, index_dir):
    result = CliRunner().invoke(
        cli,
        ["chat", "--model", str(tiny_model_dir), "--index", str(index_dir), "--device", "cpu",
         "--max-tokens", "4", "--min-similarity", "0.8"],
        input=PLANTED_QUESTIONS["planted#zh"] + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "(answers grounded in the retrieval index)" in result.output
    assert "\nReferences:\n" in result.output and "[1] planted#zh " in result.output


def test_serve_loads_the_model_once_and_binds_what_it_is_told(tiny_model_dir, monkeypatch):
    import domainforge.serving.app as app

    calls = []
    monkeypatch.setattr(app, "serve", lambda engine, host, port, log_level: calls.append((engine, host, port, log_level)))
    result = CliRunner().invoke(
        cli, ["serve", "--model", str(tiny_model_dir), "--port", "8123", "--name", "medical-dpo", "--device", "cpu", "--log-level", "warning"]
    )
    assert result.exit_code == 0, result.output
    [(engine, host, port, log_level)] = calls
    assert (engine.name, host, port, log_level) == ("medical-dpo", "127.0.0.1", 8123, "warning")
    assert engine.retriever is None and engine.default_max_tokens == 256 and engine.repetition_penalty == 1.1


def test_serve_rejects_bad_options(tiny_model_dir, tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--model", str(tiny_model_dir), "--min-similarity", "high"])
    assert result.exit_code == 2 and "a number or 'auto'" in result.output
    result = CliRunner().invoke(cli, ["serve", "--model", str(tmp_path)])
    assert result.exit_code == 2 and "not a Hugging Face model directory" in result.output
