import Buffers
import Testing

@Suite struct FlatBufferTests {
    /// Appends past the first capacity keep every element in order; `append(_:of:)` hands out
    /// the new elements to write in place.
    @Test func growsAndHandsOutSlots() {
        var buffer = FlatBuffer<Range<Int>?>(capacity: 2)
        defer { buffer.deallocate() }
        for i in 0..<5 { buffer.append(i..<(i + 1)) }
        let slots = buffer.append(3, of: nil)
        slots[1] = 7..<9
        for i in 0..<20 { buffer.append(100 + i..<(101 + i)) }   // grows again after the slots
        #expect(buffer.count == 28)
        #expect(Array(buffer.elements.prefix(8)) == [0..<1, 1..<2, 2..<3, 3..<4, 4..<5, nil, 7..<9, nil])
        #expect(buffer[27] == 119..<120)
    }

    /// Elements that hold references (strings) are released with the buffer.
    @Test func holdsStrings() {
        var names = FlatBuffer<String>(capacity: 1)
        defer { names.deallocate() }
        for i in 0..<10 { names.append(String(repeating: "n", count: 40) + "\(i)") }
        #expect(names[9].hasSuffix("9") && names[0].count == 41)
    }
}
