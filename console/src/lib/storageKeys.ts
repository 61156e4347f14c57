// Keys of what the console keeps in localStorage besides the tokens, and those that belong to
// one builder's session (forgotten when it ends, so that the next person on this browser does
// not find them).

/** The page editor's copied component (its page JSON), pasted in any page or tab. */
export const CLIPBOARD_KEY = 'socle.console.clipboard';

/** Forgotten at sign-out, and when the session ends otherwise. */
export const SESSION_KEYS: readonly string[] = [CLIPBOARD_KEY];
