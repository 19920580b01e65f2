"""When a table's expired log entries are deleted, in object storage.

After every commit delta-rs lists the table's whole log for entries past their retention
(``delta.logRetentionDuration``, 30 days) that precede its newest checkpoint, and deletes
them: a listing of a log that grows with every commit, after every commit. In object
storage, where a listing is a request (a page of it per thousand entries), the lake's
frequent commits (a crawl's batches, the writers' lease) skip that listing
(:data:`COMMIT_HOOKS`) and delete the expired entries when their commit wrote a checkpoint
(every ``delta.checkpointInterval`` commits, 100: :func:`after_commit`). An expired entry may
so stay until the next checkpoint rather than the next commit; nothing reads it (a reader
starts from the newest checkpoint).
"""

from __future__ import annotations

import contextlib

from deltalake import DeltaTable, PostCommitHookProperties

#: The post-commit work of a commit in object storage: checkpoints, no listing of the log.
COMMIT_HOOKS = PostCommitHookProperties(create_checkpoint=True, cleanup_expired_logs=False)
#: delta-rs's checkpoint interval when a table's configuration gives none.
_INTERVAL = 100


def after_commit(table: DeltaTable) -> None:
    """Delete the expired log entries of ``table`` (just committed with :data:`COMMIT_HOOKS`)
    when that commit wrote a checkpoint. Never raises: the commit has landed either way, and
    entries left are deleted at the next checkpoint."""
    with contextlib.suppress(Exception):
        configuration = table.metadata().configuration
        if configuration.get("delta.enableExpiredLogCleanup", "true").lower() == "false":
            return
        configured = configuration.get("delta.checkpointInterval")
        interval = int(configured) if configured and configured.isdigit() else _INTERVAL
        if interval > 0 and (table.version() + 1) % interval == 0:  # delta-rs's checkpoints
            table.cleanup_metadata()
