export type { Link, LinkHandlers } from './link.js';
export { createMemoryPair, type MemoryPairOptions } from './memory.js';
export { openTcp, listenTcp, type TcpOptions, type TcpServer } from './tcp.js';
export { openSerial, validateSerialOptions, type SerialOptions, type SerialLink } from './serial.js';
export { listSerialPorts, type SerialPortInfo, type ListOptions } from './serial-list.js';
export { createPty, createPtyPair, createPtyEcho, type Pty, type PtyPair, type PtyOptions } from './pty.js';
export { openLink, parseLinkSpec, type LinkSpec, type OpenLinkOptions } from './open.js';
