/** This machine, or a remote one behind `--via`: the same three calls either way. */
import { LocalShell, type TargetShell } from './target_shell.js';
import { RemoteShell } from './remote_shell.js';

export async function openShell(via: string | undefined): Promise<TargetShell & { close?: () => void }> {
  return via === undefined ? new LocalShell() : RemoteShell.open(via);
}
