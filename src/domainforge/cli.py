"""Project commands (also as `kedro <command>`, since Kedro merges a project's `cli` group into its own):

- `domainforge ask "question"`: read through a KedroSession's catalog and parameters: the retrieval
  index is `<domain>.rag_index`, the answering model `<domain>.<rag.answer.model_dataset>`.
- `domainforge serve --model DIR [--index DIR]`: an OpenAI-compatible HTTP server
  (`domainforge.serving`); `domainforge chat --model DIR [--index DIR]`: the same model on the
  terminal. Both take folders, not catalog names, and need no Kedro project.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from domainforge.retrieval.settings import MODES, AnswerSettings

ANSWER = AnswerSettings()  # rag.answer's defaults: `serve` and `chat` take them as option defaults


@click.group(name="domainforge")
def cli() -> None:
    """DomainForge project commands."""


@cli.command()
@click.argument("question")
@click.option("--domain", default="medical", show_default=True, help="Domain (pipeline namespace) to ask.")
@click.option("--k", "k", type=click.IntRange(min=1), default=None, help="References to retrieve [rag.answer.k].")
@click.option("--mode", type=click.Choice(MODES), default=None, help="Retrieval mode [rag.retrieval.mode].")
@click.option("--env", default=None, help="Kedro configuration environment.")
@click.option("--no-generate", is_flag=True, help="Only print the retrieved references.")
@click.option(
    "--project-path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Kedro project folder (default: found from the current directory).",
)
def ask(question, domain, k, mode, env, no_generate, project_path) -> None:
    """Answer QUESTION from the domain's retrieval index, citing numbered references."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.utils import find_kedro_project

    from domainforge.retrieval.answer import AnswerGenerator, format_answer, min_similarity_for
    from domainforge.retrieval.settings import rag_settings

    project_path = project_path or find_kedro_project(Path.cwd())
    if project_path is None:
        raise click.UsageError("not inside a Kedro project; pass --project-path")
    bootstrap_project(project_path)
    # The answer is the output: keep Kedro's INFO chatter (catalog loads, telemetry) off the console.
    for name in ("kedro", "kedro_telemetry"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with KedroSession.create(project_path=project_path, env=env) as session:
        context = session.load_context()
        params = context.params.get(domain, {}).get("rag")
        if params is None:
            raise click.UsageError(f"no `{domain}.rag` parameters: wire `rag: ${{rag}}` into parameters_{domain}.yml")
        rag = rag_settings(params)
        catalog = context.catalog
        retriever = catalog.load(f"{domain}.rag_index")
        retriever.settings = rag.retrieval
        answer = rag.answer
        threshold = min_similarity_for(answer.min_similarity, retriever.min_similarity, answer.fallback_min_similarity)
        hits = retriever.search(question, k or answer.k, mode=mode)
        if no_generate:
            click.echo(format_answer(None, hits, threshold))
            return
        generator = AnswerGenerator.from_artifact(
            catalog.load(f"{domain}.{answer.model_dataset}"),
            max_new_tokens=answer.max_new_tokens,
            max_reference_chars=answer.max_reference_chars,
            repetition_penalty=answer.repetition_penalty,
        )
        reply = generator.answer(question, hits, threshold)
        click.echo(format_answer(reply, hits, threshold))


def _min_similarity(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"a number or 'auto', not {value!r}") from None


def _model_options(command):
    """Options shared by `serve` and `chat`; defaults: rag.answer's (AnswerSettings)."""
    options = [
        click.option(
            "--model", "model_dir", required=True,
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="Hugging Face model directory, e.g. data/06_models/medical/dpo_model.",
        ),
        click.option(
            "--index", "index_dir", default=None,
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="Saved retrieval index (e.g. data/06_models/medical/rag_index): ground answers in cited references.",
        ),
        click.option("--k", "k", type=click.IntRange(min=1), default=ANSWER.k, show_default=True, help="References retrieved per question."),
        click.option(
            "--min-similarity", default=ANSWER.min_similarity, show_default=True,
            help="Answer threshold: a number, or auto = the index's calibrated one.",
        ),
        click.option("--fallback-min-similarity", type=float, default=ANSWER.fallback_min_similarity, show_default=True, help="Threshold for auto on an uncalibrated index."),
        click.option("--max-reference-chars", type=click.IntRange(min=1), default=ANSWER.max_reference_chars, show_default=True),
        click.option("--max-tokens", type=click.IntRange(min=1), default=ANSWER.max_new_tokens, show_default=True, help="Answer length when a request gives none."),
        click.option("--repetition-penalty", type=float, default=ANSWER.repetition_penalty, show_default=True, help="Default when a request gives none."),
        click.option("--device", default="auto", show_default=True, help="auto (cuda if available), cpu, cuda, cuda:1, …"),
        click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), default="auto", show_default=True),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _load_engine(name=None, **options):
    from domainforge.serving.generation import ChatEngine

    model_dir, index_dir = options.pop("model_dir"), options.pop("index_dir")
    options["min_similarity"] = _min_similarity(options["min_similarity"])
    options["default_max_tokens"] = options.pop("max_tokens")
    try:
        return ChatEngine.load(model_dir, index_dir, name=name, **options)
    except FileNotFoundError as error:
        raise click.UsageError(str(error)) from None


@cli.command()
@_model_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it local unless you mean otherwise).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--name", default=None, help="Model id clients ask for [the model folder's name].")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(host, port, name, log_level, **options) -> None:
    """Serve the model over an OpenAI-compatible API: GET /v1/models, POST /v1/chat/completions."""
    from domainforge.serving.app import serve as run_server

    engine = _load_engine(name, **options)
    grounded = f", grounded in {options['index_dir']}" if options["index_dir"] else ""
    click.echo(f"Serving {engine.name!r}{grounded} at http://{host}:{port}/v1", err=True)
    run_server(engine, host, port, log_level)


@cli.command()
@_model_options
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.0, show_default=True, help="0 = greedy.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True)
@click.option("--system", default=None, help="A system message to start the conversation with.")
def chat(temperature, top_p, system, **options) -> None:
    """Chat with the model on the terminal (/exit or Ctrl-D quits, /reset clears)."""
    from domainforge.serving.chat import chat_loop
    from domainforge.serving.generation import GenerationSettings

    engine = _load_engine(**options)
    chat_loop(engine, GenerationSettings(temperature=temperature, top_p=top_p), read=_read, write=lambda t: click.echo(t, nl=False), system=system)


def _read(prompt: str) -> str:
    click.echo(prompt, nl=False)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
