"""Talk to the model: an OpenAI-compatible HTTP server (`domainforge serve`) and an interactive
chat loop (`domainforge chat`) over one Hugging Face model directory, optionally grounded in a
saved retrieval index the ChatLaw way (numbered references, cited as [n]).

    from domainforge.serving import ChatEngine, create_app
    engine = ChatEngine.load("data/06_models/medical/dpo_model", index_dir="data/06_models/medical/rag_index")
    app = create_app(engine)          # FastAPI app: GET /v1/models, POST /v1/chat/completions
"""
from domainforge.serving.generation import ChatEngine, Completion, GenerationSettings, RequestError

__all__ = ["ChatEngine", "Completion", "GenerationSettings", "RequestError", "create_app"]


def __getattr__(name):  # the app pulls in FastAPI; the chat loop does not need it
    if name == "create_app":
        from domainforge.serving.app import create_app

        return create_app
    raise AttributeError(name)
