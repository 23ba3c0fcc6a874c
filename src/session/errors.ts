/** The session's own error, in a leaf of session/ so every module of it can throw it. */

/** What the caller asked for cannot be done as asked (a conflicting flag, an unknown run, a bad policy); the message says why. */
export class SessionError extends Error {
  override name = 'SessionError';
}
