// Server-made SVG (the QR code of an authenticator enrolment) shown as an image: a data URI
// in <img src>, which the console's CSP allows, never markup inserted into the page.

/** `data:image/svg+xml;base64,…` of an SVG document (UTF-8). */
export function svgDataUri(svg: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(svg)) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}
