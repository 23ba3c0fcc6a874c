import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { SerialPort } from 'serialport';

export interface SerialPortInfo {
  /** Device path to pass to openSerial, e.g. `/dev/ttyACM0` or `COM3`. */
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  /** USB vendor id, 4 lowercase hex digits as serialport reports it, e.g. `0403`. */
  vendorId?: string;
  /** USB product id, 4 lowercase hex digits, e.g. `6001`. */
  productId?: string;
}

export interface ListOptions {
  /** Root of the sysfs tree the Linux fallback reads. Defaults to `/sys` (tests pass a fake tree). */
  sysfsRoot?: string;
  /** Directory device paths are reported under by the fallback. Defaults to `/dev`. */
  devRoot?: string;
  /** The primary lister. Defaults to serialport's SerialPort.list (udevadm on Linux). */
  list?: () => Promise<SerialPortInfo[]>;
}

/**
 * Lists serial ports. On Linux serialport asks `udevadm`, which minimal systems and containers
 * lack (`spawn udevadm ENOENT`); then the same facts are read straight from sysfs.
 */
export async function listSerialPorts(opts: ListOptions = {}): Promise<SerialPortInfo[]> {
  const list = opts.list ?? (() => SerialPort.list());
  try {
    const ports = await list();
    return ports.map(({ path, manufacturer, serialNumber, vendorId, productId }) => strip({ path, manufacturer, serialNumber, vendorId, productId }));
  } catch (err) {
    if (!isMissingUdevadm(err)) throw err;
    return listFromSysfs(opts.sysfsRoot ?? '/sys', opts.devRoot ?? '/dev');
  }
}

function isMissingUdevadm(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code === 'ENOENT' && /udevadm/.test(String(e.message ?? ''));
}

const NAMES = /^tty(S|ACM|USB)\d+$/;

/**
 * Serial ports as sysfs describes them: every /sys/class/tty/<name> with a `device` link whose
 * name is ttyS*, ttyACM* or ttyUSB*. A ttyS* is kept only when its `type` is not 0 (PORT_UNKNOWN):
 * the kernel creates placeholder ttyS0..3 on machines without a UART. For USB adapters the device
 * directory is walked up to the USB device (the one with idVendor) for ids and strings.
 */
export async function listFromSysfs(sysfsRoot: string, devRoot = '/dev'): Promise<SerialPortInfo[]> {
  const classDir = join(sysfsRoot, 'class', 'tty');
  let names: string[];
  try {
    names = await readdir(classDir);
  } catch {
    return [];
  }
  const out: SerialPortInfo[] = [];
  for (const name of names.filter((n) => NAMES.test(n)).sort(byNameThenNumber)) {
    const ttyDir = join(classDir, name);
    let deviceDir: string;
    try {
      deviceDir = await realpath(join(ttyDir, 'device'));
    } catch {
      continue; // virtual tty: no hardware behind it
    }
    if (name.startsWith('ttyS')) {
      const type = await readAttr(ttyDir, 'type');
      if (type === undefined || type === '0') continue;
    }
    const info: SerialPortInfo = { path: join(devRoot, name) };
    const usb = await findUsbDevice(deviceDir, sysfsRoot);
    if (usb) {
      info.vendorId = (await readAttr(usb, 'idVendor'))?.toLowerCase();
      info.productId = (await readAttr(usb, 'idProduct'))?.toLowerCase();
      info.manufacturer = await readAttr(usb, 'manufacturer');
      info.serialNumber = await readAttr(usb, 'serial');
    }
    out.push(strip(info));
  }
  return out;
}

/** Walks up from a tty's device directory to the first one with idVendor, staying inside sysfs. */
async function findUsbDevice(from: string, sysfsRoot: string): Promise<string | undefined> {
  const root = await realpath(sysfsRoot).catch(() => sysfsRoot);
  for (let dir = from; dir.startsWith(root) && dir !== root; dir = dirname(dir)) {
    const ok = await stat(join(dir, 'idVendor')).then(() => true, () => false);
    if (ok) return dir;
  }
  return undefined;
}

async function readAttr(dir: string, attr: string): Promise<string | undefined> {
  try {
    const s = (await readFile(join(dir, attr), 'utf8')).trim();
    return s === '' ? undefined : s;
  } catch {
    return undefined;
  }
}

function byNameThenNumber(a: string, b: string): number {
  const pa = /^(\D+)(\d+)$/.exec(a)!;
  const pb = /^(\D+)(\d+)$/.exec(b)!;
  return pa[1] === pb[1] ? Number(pa[2]) - Number(pb[2]) : pa[1] < pb[1] ? -1 : 1;
}

function strip(info: SerialPortInfo): SerialPortInfo {
  const out: SerialPortInfo = { path: info.path };
  for (const k of ['manufacturer', 'serialNumber', 'vendorId', 'productId'] as const) if (info[k] !== undefined) out[k] = info[k];
  return out;
}
