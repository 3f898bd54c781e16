/** A host's steps through a run, in order: shared by the orchestrator, the journal and the reports. */
export type HostStep =
  'pending' | 'depool' | 'lb-confirm' | 'drain' | 'restart' | 'health' | 'repool' | 'switch' | 'done';
