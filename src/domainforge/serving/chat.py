"""`domainforge chat`: talk to the model on the terminal. The conversation is kept (the model sees
the earlier turns); with an index each question is grounded in its own retrieved references.
/exit (or end of input) quits, /reset forgets the conversation."""
from __future__ import annotations

from collections.abc import Callable

from domainforge.serving.generation import ChatEngine, Completion, GenerationSettings, RequestError


def chat_loop(
    engine: ChatEngine,
    settings: GenerationSettings,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = lambda text: print(text, end="", flush=True),
    system: str | None = None,
) -> None:
    grounded = " (answers grounded in the retrieval index)" if engine.retriever is not None else ""
    write(f"Chatting with {engine.name}{grounded}. /exit or Ctrl-D quits, /reset clears the conversation.\n")
    history: list[dict] = [{"role": "system", "content": system}] if system else []
    while True:
        try:
            line = read("> ")
        except (EOFError, KeyboardInterrupt):
            write("\n")
            return
        question = line.strip()
        if question in ("/exit", "/quit"):
            return
        if question == "/reset":
            history = history[:1] if system else []
            write("(conversation cleared)\n")
            continue
        if not question:
            continue
        messages = [*history, {"role": "user", "content": question}]
        try:
            completion = None
            for item in engine.stream(engine.prepare(messages, settings)):
                if isinstance(item, Completion):
                    completion = item
                else:
                    write(item)
        except RequestError as error:
            write(f"(error: {error.message} — /reset starts a new conversation)\n")
            continue
        except KeyboardInterrupt:  # stops this answer, not the chat
            write("\n(interrupted)\n")
            continue
        write(completion.tail + "\n")
        history = [*messages, {"role": "assistant", "content": completion.text}]
