"""Chat reducer: the recent public messages and the performers' private chat, both bounded.

Control payloads (`clear`, `clearPlayerChat`, `remove`, `highlight`) edit the lists; anything
else with a `message` string is a message. A message whose `id` is already held is dropped,
so an at-least-once redelivery never shows twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._util import Json, bounded_append, index_of, is_id, same_id
from .limits import Limits

Chat = dict[str, Any]
_LISTS = ("messages", "privateMessages")


def empty_chat() -> Chat:
    """No public and no private messages."""
    return {"messages": [], "privateMessages": []}


def public_chat(chat: Chat) -> Chat:
    """The chat as the audience may see it: without the performers' private messages."""
    return {k: v for k, v in chat.items() if k != "privateMessages"}


def reduce_chat(chat: Chat, payload: Json, limits: Limits) -> Chat:
    """Apply one `chat` payload: a control, a message dict or a legacy bare-string message."""
    if isinstance(payload, str):
        return _add(chat, {"message": payload}, limits)
    if not isinstance(payload, dict):
        return chat
    if payload.get("clear") is True:
        return {**chat, "messages": []} if chat["messages"] else chat
    if payload.get("clearPlayerChat") is True:
        return {**chat, "privateMessages": []} if chat["privateMessages"] else chat
    if "remove" in payload:
        return _edit(chat, payload["remove"], None)
    if "highlight" in payload:
        return _edit(chat, payload["highlight"], _toggle_highlight)
    if isinstance(payload.get("message"), str):
        return _add(chat, dict(payload), limits)
    return chat


def _add(chat: Chat, message: dict[str, Json], limits: Limits) -> Chat:
    private = message.get("isPrivate") is True
    name = "privateMessages" if private else "messages"
    limit = limits.private_messages if private else limits.chat_messages
    if is_id(message.get("id")) and index_of(chat[name], message["id"]) >= 0:
        return chat
    return {**chat, name: bounded_append(chat[name], message, limit)}


def _toggle_highlight(message: dict[str, Json]) -> dict[str, Json]:
    return {**message, "highlighted": message.get("highlighted") is not True}


def _edit(chat: Chat, ident: Json, change: Callable[[dict[str, Json]], dict[str, Json]] | None) -> Chat:
    """Remove (change None) or replace by `change(message)` every message whose id is `ident`."""
    if not is_id(ident):
        return chat
    edited = dict(chat)
    for name in _LISTS:
        if index_of(chat[name], ident) < 0:
            continue
        kept = []
        for message in chat[name]:
            if not same_id(message.get("id"), ident):
                kept.append(message)
            elif change is not None:
                kept.append(change(message))
        edited[name] = kept
    return edited if any(edited[n] is not chat[n] for n in _LISTS) else chat
