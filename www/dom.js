// The page's elements by id (www/index.html), for every module of the page.

/**
 * The element `id`, as an input: the controls and text the page reads and writes by id share the
 * fields it uses of them (`value`, `checked`, `disabled`, `max`, `textContent`, `dataset`, events);
 * for another element's own API (a select's options, a table's rows, a canvas) use `el`.
 * @param {string} id
 * @returns {HTMLInputElement}
 */
export const $ = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

/**
 * The element `id`, checked to be a `type` (HTMLSelectElement, HTMLTableElement, ...).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function el(id, type) {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`page: #${id} is not a ${type.name}`);
  return e;
}

/**
 * A canvas's 2D context (one per canvas; a canvas that already has another kind has none).
 * @param {HTMLCanvasElement} cv
 * @returns {CanvasRenderingContext2D}
 */
export function ctx2d(cv) {
  const ctx = cv.getContext("2d");
  if (!ctx) throw new Error("page: this canvas has no 2D context");
  return ctx;
}
