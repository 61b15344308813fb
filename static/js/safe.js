// Guards for user-controlled values that reach URLs, CSS or class names. Stage payloads pass
// through the hub with any extra fields, and stage covers, scenes and media links are typed by
// users, so nothing from them is trusted: text always goes in as text (dom.js `h`), and the
// values below are checked here, in one place, before they become a `src`, an `href`, a colour
// or a class.

/**
 * `value` as an absolute http(s) URL (relative paths resolve against this page, so same-origin
 * paths pass), or null for anything else: `javascript:`, `data:`, `blob:`, non-strings.
 */
export function safeUrl(value) {
  if (typeof value !== 'string' || value.trim() === '') return null;
  try {
    const url = new URL(value.trim(), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** A CSS colour (`#abc`, `rgb(...)`, `red`...) or `fallback`: never a second declaration or a url(). */
export function safeColor(value, fallback = '') {
  if (typeof value !== 'string' || value.length > 64 || /[;:{}\\"'<>]|url\s*\(/i.test(value)) return fallback;
  return CSS.supports('color', value) ? value : fallback;
}

/** `value` when it is one of `allowed`, else `fallback` (for values used as class names). */
export function oneOf(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}
