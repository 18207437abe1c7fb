/** The stack tree is nested <details>: it expands without script; these add "expand all" and the share bars. */

export function initStackTree(root: ParentNode, buttons: ParentNode = root): void {
  for (const bar of Array.from(root.querySelectorAll<HTMLElement>('.sbar > i[data-w]'))) {
    bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset['w']) || 0))}%`;
  }
  for (const b of Array.from(buttons.querySelectorAll<HTMLButtonElement>('button[data-tree]'))) {
    b.addEventListener('click', () => {
      const open = b.dataset['tree'] === 'expand';
      for (const d of Array.from(root.querySelectorAll('details'))) d.open = open;
    });
  }
}
