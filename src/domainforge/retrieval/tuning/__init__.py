"""Training on the domain's own question -> answer pairs: the embedder (`embedder_tuning`) and a
linear map on question vectors (`query_adapter`)."""
