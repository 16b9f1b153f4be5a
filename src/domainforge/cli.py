"""Project commands: `domainforge ask "question"` (also `kedro ask`, since Kedro merges a
project's `cli` group into its own).

Everything is read through a KedroSession's catalog and parameters: the retrieval index is
`<domain>.rag_index`, the answering model `<domain>.<rag.answer.model_dataset>`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import click

from domainforge.rag.settings import MODES


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

    from domainforge.rag.answer import AnswerGenerator, format_answer, min_similarity_for
    from domainforge.rag.settings import RetrievalSettings

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
        catalog = context.catalog
        retriever = catalog.load(f"{domain}.rag_index")
        retriever.settings = RetrievalSettings.from_dict(params["retrieval"])
        answer_params = params["answer"]
        threshold = min_similarity_for(
            answer_params["min_similarity"], retriever.min_similarity, answer_params["fallback_min_similarity"]
        )
        hits = retriever.search(question, k or answer_params["k"], mode=mode)
        if no_generate:
            click.echo(format_answer(None, hits, threshold))
            return
        generator = AnswerGenerator.from_artifact(
            catalog.load(f"{domain}.{answer_params['model_dataset']}"),
            max_new_tokens=answer_params["max_new_tokens"],
            max_reference_chars=answer_params["max_reference_chars"],
            repetition_penalty=answer_params["repetition_penalty"],
        )
        answer = generator.answer(question, hits, threshold)
        click.echo(format_answer(answer, hits, threshold))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
