"""Live pages (#23): a teammate's committed change reaches the pages that show it within a second or two.

The contract, end to end:

- **One source.** `publish.LivePublisher` is an observer of aether/changes.py: its `committed(changes)` runs
  after the writer's transaction committed (never for a rolled-back one), beside the generations' observer,
  and publishes one message per commit on the deployment's Redis channel (`<REDIS_KEY_PREFIX>:live`), with
  an event id from one Redis counter (`INCR` and `PUBLISH` in one script, so ids follow commit order).
- **No content.** A message names what changed, by kind and id (a task, a comment, a person's notifications,
  a team's own things, a member who joined or left), never a title or a body. A page that hears of a change
  refetches its own regions through its ordinary, permission-checked view (static/js/live.js), so nothing a
  viewer may not see can reach them by this road.
- **One subscriber per process.** `hub.Hub` holds the process's one redis.asyncio subscription and fans each
  message out in-process to the open streams whose page shows it (by team, and by person for the bell).
  Each stream has a bounded queue: a client that does not read is dropped (its queue emptied, its task
  cancelled), and the fan-out never waits on one. After a Redis outage the subscriber reconnects with a
  backoff and tells every stream to resynchronise.
- **Subscriptions are the page's.** `views.stream` takes what the page shows (a project, a task, a team, or
  "my teams" for My work and the calendar) and checks it with the same selectors as the page, refusing as
  the page does (404). A member who leaves a team (Changes.members) or whose account changes is re-checked
  at once: a stream of a team they left is closed (and its reconnection refused), meanwhile their streams
  get nothing of that team.
- **Catching up.** A page is rendered with the event id current then (`pages.live_state`, read in the same
  Redis round trip as its ETag's generations); the stream starts from it, or from the browser's
  Last-Event-ID after a reconnection, and says `resync` when events went by in between. The page then
  refetches itself conditionally: the ETag is made from the generations (aether/conditional.py), so a page
  nothing touched answers 304 and nothing changes on screen.
"""
