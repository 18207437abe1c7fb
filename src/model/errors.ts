/**
 * Few error classes, one message style (STYLE.md, rule 14). The CLI maps them to exit codes:
 * InputError and TargetError -> 2 with a one-line message; BugError -> 70, stack only with --debug.
 */
export class InputError extends Error {
  constructor(message: string, readonly code: string = 'input') { super(message); this.name = 'InputError'; }
}
export class TargetError extends Error {
  constructor(message: string, readonly code: string = 'target') { super(message); this.name = 'TargetError'; }
}
export class BugError extends Error {
  constructor(message: string, readonly code: string = 'bug') { super(message); this.name = 'BugError'; }
}
