/** Rollout's own keys live beside conftool's, never inside its pool prefix (DESIGN.md); every room's keys start here. */
export const ROLLOUT_PREFIX = '/rollout/v1/';
