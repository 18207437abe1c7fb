/**
 * Tables sort on a header click: numbers by the cell's data-v (bytes, bytes/s; empty sorts last), text by its
 * content. A second click reverses. aria-sort says which column and which way.
 */

function cellKey(row: HTMLTableRowElement, col: number, numeric: boolean): number | string {
  const cell = row.cells[col];
  if (!cell) return numeric ? NaN : '';
  if (numeric) {
    const v = cell.dataset['v'];
    return v === undefined || v === '' ? NaN : Number(v);
  }
  return (cell.textContent ?? '').trim().toLowerCase();
}

export function sortTable(table: HTMLTableElement, col: number, descending: boolean): void {
  const th = table.tHead?.rows[0]?.cells[col];
  const body = table.tBodies[0];
  if (!th || !body) return;
  const numeric = th.dataset['type'] === 'num';
  const rows = Array.from(body.rows);
  const dir = descending ? -1 : 1;
  rows.sort((a, b) => {
    const x = cellKey(a, col, numeric);
    const y = cellKey(b, col, numeric);
    if (typeof x === 'number' && typeof y === 'number') {
      if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
      if (Number.isNaN(y)) return -1;
      return (x - y) * dir;
    }
    return String(x).localeCompare(String(y)) * dir;
  });
  for (const r of rows) body.appendChild(r);
  for (const c of Array.from(table.tHead?.rows[0]?.cells ?? [])) c.removeAttribute('aria-sort');
  th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
}

export function makeSortable(table: HTMLTableElement): void {
  const head = table.tHead?.rows[0];
  if (!head) return;
  Array.from(head.cells).forEach((th, col) => {
    if (th.dataset['nosort'] !== undefined) return;
    th.classList.add('sort');
    th.tabIndex = 0;
    const go = (): void => {
      // Numbers start largest first (what grew most), text A to Z.
      const current = th.getAttribute('aria-sort');
      const descending = current === null ? th.dataset['type'] === 'num' : current === 'ascending';
      sortTable(table, col, descending);
    };
    th.addEventListener('click', go);
    th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
  });
}
