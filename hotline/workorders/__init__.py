"""Work orders (工单): the closed loop of a 12345 centre, as pure domain logic."""
