import { MemoryFleetStore } from "../../../../tools/fleet/store/memoryStore.ts";
import { fleetStoreContract } from "./contract.ts";

fleetStoreContract("MemoryFleetStore", { open: () => new MemoryFleetStore() });
