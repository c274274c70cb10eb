import { LatchkeyError } from '../../core/errors.js';
import { crocanteProfile } from '../gateway/crocante.js';
import type { GatewayProfile } from '../gateway/gateway-profile.js';
import { judicialProfile } from '../gateway/judicial.js';
import { bioreProfile } from './biore.js';
import { nativeProfile } from './native.js';
import { PROFILE_NAMES, type Profile, type ProfileName } from './profile.js';

const SESSION_PROFILES: Partial<Record<ProfileName, Profile>> = { native: nativeProfile, biore: bioreProfile };
const GATEWAY_PROFILES: Partial<Record<ProfileName, GatewayProfile>> = { judicial: judicialProfile, crocante: crocanteProfile };

/** A profile by name: one that owns its sessions, or a gateway in front of another auth service. */
export function anyProfileByName(name: string): { kind: 'session'; profile: Profile } | { kind: 'gateway'; profile: GatewayProfile } {
  const session = SESSION_PROFILES[name as ProfileName];
  if (session) return { kind: 'session', profile: session };
  const gateway = GATEWAY_PROFILES[name as ProfileName];
  if (gateway) return { kind: 'gateway', profile: gateway };
  throw new LatchkeyError('CONFIG_INVALID', `Unknown profile "${name}"; accepted: ${PROFILE_NAMES.join(', ')}.`);
}

/** A session-owning profile (native, biore) by name. */
export function profileByName(name: string): Profile {
  const found = anyProfileByName(name);
  if (found.kind === 'session') return found.profile;
  throw new LatchkeyError('UNSUPPORTED_PROFILE', `The "${name}" profile is a gateway; build it with buildGatewayServer.`);
}

export function gatewayProfileByName(name: string): GatewayProfile {
  const found = anyProfileByName(name);
  if (found.kind === 'gateway') return found.profile;
  throw new LatchkeyError('UNSUPPORTED_PROFILE', `The "${name}" profile owns its sessions; build it with buildServer.`);
}
