// A message for the next screen ("Collection saved"), shown once after a navigation.

let pending = '';

export function setFlash(message: string) {
  pending = message;
}

/** The pending message, if any; it is then gone. */
export function takeFlash(): string {
  const message = pending;
  pending = '';
  return message;
}
