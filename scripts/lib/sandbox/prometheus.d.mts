export const ALERTMANAGER: string;
export const PUSHGATEWAY: string;
export const ALERTMANAGER_PORT: number;
export const PUSHGATEWAY_PORT: number;
export function alertmanagerArgs(dir: string, address: string, port?: number): string[];
export function pushgatewayArgs(dir: string, address: string, port?: number): string[];
