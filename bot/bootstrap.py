"""The one wiring point: builds engines, clients and services from typed settings.

Nothing connects at import time; tests pass fakes (a collecting sender, a fixed clock, a fake
classifier) through the same function the server uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from bot.domain.model import Channel
from bot.outbox import ClaimedMessage, OutboxWorker
from bot.service.clocks import ClockService, keep_on_send
from bot.settings import Settings, SettingsError
from bot.storage.db import create_engine, migrate
from channels import registry as channel_registry
from channels.base import Decoder, Sender, SenderRegistry, SendResult, TurnHandler
from sla import (
    Calendar,
    OfficeHours,
    Policy,
    SlaConfigError,
    load_bank_holidays_json,
    load_policies,
)

if TYPE_CHECKING:
    # Imported where they are built: a sending process (`bootstrap_sending`) loads neither
    # the pipeline nor the message templates, and stays small.
    from fastapi import APIRouter

    from actions.acknowledge import Composer
    from bot.nlu.types import Classifier
    from bot.service.pipeline import Pipeline

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything the server, the workers and the CLI need, built once."""

    settings: Settings
    engine: sa.Engine
    pipeline: Pipeline
    outbox: OutboxWorker
    senders: SenderRegistry
    clocks: ClockService
    composer: Composer
    classifier: Classifier
    now: Callable[[], datetime]
    extras: dict[str, object] = field(default_factory=dict)

    def close(self) -> None:
        self.pipeline.reader.close()
        self.engine.dispose()


def build_calendar(settings: Settings) -> Calendar:
    """The landlord's working-day calendar; a bad value stops start-up naming the key."""
    bank_holidays = None
    if settings.sla.bank_holidays_file is not None:
        path = Path(settings.sla.bank_holidays_file)
        try:
            bank_holidays = load_bank_holidays_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"sla.bank_holidays_file: cannot read {path}: {exc}") from exc
        except SlaConfigError as exc:
            raise SettingsError(f"sla.bank_holidays_file: {path}: {exc}") from exc
    try:
        hours = (
            OfficeHours.from_mapping(settings.sla.office_hours)
            if settings.sla.office_hours
            else OfficeHours.default()
        )
        return Calendar(
            division=settings.sla.division,
            closures=tuple(settings.sla.closures),
            office_hours=hours,
            bank_holidays=bank_holidays,
        )
    except SlaConfigError as exc:
        raise SettingsError(f"sla.{exc}") from exc


def build_policies(settings: Settings) -> dict[str, Policy]:
    try:
        return load_policies(
            settings.sla.policies, due_soon_fraction=settings.sla.due_soon_fraction
        )
    except SlaConfigError as exc:
        raise SettingsError(str(exc)) from exc


def default_classifier(settings: Settings) -> Classifier:
    """The embedded spaCy model, or Rasa's /model/parse when `nlu.engine: rasa`."""
    if settings.nlu.engine == "rasa":
        from bot.conversation.rasa_nlu import RasaClassifier

        url = settings.nlu.rasa_url or settings.rasa.url
        if not url:
            raise SettingsError("nlu.engine is 'rasa' but neither nlu.rasa_url nor rasa.url is set")
        return RasaClassifier(url, timeout=settings.rasa.timeout_seconds)
    from bot.nlu.encoder import EncoderUnavailable
    from bot.nlu.loader import load_or_train

    try:
        classifier: Classifier = load_or_train(
            settings.nlu.model_dir,
            settings.nlu.data_dir,
            encoder=settings.nlu.engine == "spacy+encoder",
        )
    except EncoderUnavailable as exc:
        # A machine installed without the weights (`pip install .` alone) still triages,
        # with the bag of words and the same rules, and says so at every start.
        log.warning("nlu.engine is 'spacy+encoder' but %s: using the spaCy engine alone", exc)
        classifier = load_or_train(settings.nlu.model_dir, settings.nlu.data_dir)
    return classifier


def build_outbox(
    settings: Settings,
    engine: sa.Engine,
    registry: SenderRegistry,
    clocks: ClockService,
    clock: Callable[[], datetime],
    channels: Collection[Channel] | None = None,
) -> OutboxWorker:
    def on_sent(conn: sa.Connection, claimed: ClaimedMessage, result: SendResult) -> None:
        # The send is what keeps the promise: the clock the message was for ends met.
        policy = claimed.message.meta.get("clock")
        if policy and claimed.message.interaction_id is not None:
            keep_on_send(
                conn,
                interaction_id=claimed.message.interaction_id,
                policy=policy,
                kind=claimed.message.kind,
                at=clock(),
            )

    return OutboxWorker(
        engine, registry, settings.outbox, on_sent=on_sent, clock=clock, channels=channels
    )


def bootstrap_sending(
    settings: Settings, channels: Collection[Channel]
) -> tuple[sa.Engine, OutboxWorker]:
    """Only what a sending process needs (`doorstep outbox`): no classifier, no migration.

    The serve process that starts it has already migrated the database.
    """
    engine = create_engine(settings.database_url)
    clocks = ClockService(build_policies(settings), build_calendar(settings))
    registry = SenderRegistry()
    for sender in channel_registry.senders(settings, only=channels):
        registry.register(sender)
    worker = build_outbox(settings, engine, registry, clocks, lambda: datetime.now(UTC), channels)
    return engine, worker


def bootstrap(
    settings: Settings,
    *,
    engine: sa.Engine | None = None,
    classifier: Classifier | None = None,
    senders: list[Sender] | None = None,
    decoders: Mapping[Channel, Decoder] | None = None,
    turn_handlers: Mapping[Channel, TurnHandler] | None = None,
    now: Callable[[], datetime] | None = None,
    run_migrations: bool = True,
) -> App:
    from actions.acknowledge import Composer
    from actions.officers import sync_officers
    from bot.service.pipeline import Pipeline
    from bot.service.reading import build_reader

    clock = now or (lambda: datetime.now(UTC))
    engine = engine or create_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    with engine.begin() as conn:
        # OOO: the officers table is the live list (leave is edited in the dashboard);
        # configured officers it does not know yet are added.
        sync_officers(conn, settings.officers)
    clocks = ClockService(build_policies(settings), build_calendar(settings))
    composer = Composer(settings.organisation, settings.templates_dir)
    # Senders before the classifier: a channel set up wrongly (sms.enabled without its
    # secrets) stops start-up at once, not after the model has trained.
    registry = SenderRegistry()
    for sender in senders if senders is not None else channel_registry.senders(settings):
        registry.register(sender)
    classifier = classifier or default_classifier(settings)
    outbox = build_outbox(settings, engine, registry, clocks, clock)
    decoders = decoders if decoders is not None else channel_registry.decoders(settings)
    pipeline = Pipeline(
        engine=engine,
        settings=settings,
        decoders=decoders,
        turn_handlers=turn_handlers
        if turn_handlers is not None
        else channel_registry.turn_handlers(settings),
        classifier=classifier,
        composer=composer,
        clocks=clocks,
        now=clock,
        on_enqueued=outbox.wake,
        # Issue 14: a worker process with a time limit per message, forked once the model
        # is loaded (it shares the model's memory). Rasa's classifier is a remote call with
        # its own timeout: it stays here, only decoding moves.
        reader=build_reader(
            decoders,
            classifier,
            seconds=settings.reading.timeout_seconds,
            classify_here=settings.nlu.engine == "rasa",
        ),
    )
    return App(
        settings=settings,
        engine=engine,
        pipeline=pipeline,
        outbox=outbox,
        senders=registry,
        clocks=clocks,
        composer=composer,
        classifier=classifier,
        now=clock,
    )


# ---- the areas' routers and workers ----------------------------------------------------
# Imported here, inside the functions, so that `import bot.bootstrap` stays light and the
# type checker sees every factory (they were once found by "module:function" strings, which
# hid a missing function until a request reached it).


def build_routers(app: App) -> list[APIRouter]:
    """The routers of every area, in the order the web app mounts them."""
    from bot.web import appointments, assistant_api, dashboard, public
    from channels.email import graph_webhook
    from channels.sms import webhook
    from channels.social import webhook as social_webhook
    from channels.webchat import server

    routers = [
        webhook.build_router(app),
        social_webhook.build_router(app),
        server.build_router(app),
        dashboard.build_router(app),
        appointments.build_router(app),
        assistant_api.build_router(app),
        public.build_router(app),  # "How we are doing", when performance.public_page is on
    ]
    graph = graph_webhook.build_router(app)  # only when a mailbox is read through Graph
    if graph is not None:
        routers.append(graph)
    return routers


class Worker(Protocol):
    """Background work an area runs beside the web app (appointment reminders...)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


def build_workers(app: App) -> list[Worker]:
    """The configured areas' background workers (an area not configured offers none)."""
    from actions.appointments import build_worker as appointment_worker
    from bot.privacy.worker import build_worker as retention_worker
    from bot.probe.worker import build_worker as probe_worker
    from bot.service.alerts import build_worker as alerts_worker
    from bot.service.live import build_worker as live_chat_worker

    # The web chat has none: the outbox worker and the hub deliver its replies.
    workers: list[Worker] = [appointment_worker(app)]
    retention = retention_worker(app)  # PRIVACY: the daily retention run, unless cron does it
    if retention is not None:
        workers.append(retention)
    # HANDOFF: the live-chat queue's requests and timeouts. MONITOR: the mystery shopper on its
    # schedule; staff told of promises due soon or missed.
    for extra in (live_chat_worker(app), probe_worker(app), alerts_worker(app)):
        if extra is not None:
            workers.append(extra)
    return workers
