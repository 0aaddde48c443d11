import { describe } from 'vitest';
import { simulateSeeds } from '../../helpers/simulation-seeds.js';

describe('simulated cluster, odd seeds', () => simulateSeeds(1, 2));
